/*
 * signer - the four address maps the MTA asks (forward, reverse,
 * batv-sign, batv-reverse) and the bounce-protection questions the checks
 * ask, on top of the pure SRS/BATV functions and the configured keys.
 *
 * Memory: a pb_signer holds copies of its keys (no allocation after
 * pb_signer_init) and points into the pb_config, which must outlive it.
 * Read-only after init and shared by every thread.
 */
#ifndef PB_SIGNER_H
#define PB_SIGNER_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "core/config.h"
#include "core/secrets.h"
#include "sign/sign.h"

typedef struct pb_signer {
	const pb_config *cfg;
	bool srs_on;  /* [srs] domain and secrets configured and loaded */
	bool batv_on; /* [batv] secrets loaded */
	pb_keys srs_keys;
	pb_keys batv_keys;
	pb_srs_opts srs;
	pb_batv_opts batv;
} pb_signer;

/* pb_signer_init - load the key files cfg names.  A configured key file
 * that cannot be loaded is an error (err says which and why); an
 * unconfigured one leaves that half off. */
int pb_signer_init(pb_signer *s, const pb_config *cfg, char *err,
		   size_t errlen);

/* pb_signer_wipe - forget the keys. */
void pb_signer_wipe(pb_signer *s);

typedef enum pb_map_status {
	PB_MAP_OK = 0,	 /* out holds the rewritten address */
	PB_MAP_NOTFOUND, /* leave the address as it is */
	PB_MAP_TEMP,	 /* our fault or configuration: try again later */
	PB_MAP_PERM,	 /* the request itself is wrong */
} pb_map_status;

/* pb_signer_map - answer one map lookup.  key is the address as the MTA
 * gave it (no angle brackets).  On PB_MAP_OK out holds the answer; on
 * anything else *why says why (static text, for the reply and the log).
 */
pb_map_status pb_signer_map(const pb_signer *s, pb_map_id map, const char *key,
			    time_t now, char *out, size_t outlen,
			    const char **why);

/* How a bounce's recipient looks to the bounce rules. */
typedef enum pb_bounce_kind {
	PB_BOUNCE_UNPROTECTED = 0, /* neither it nor its domain is protected */
	PB_BOUNCE_UNSIGNED,	   /* protected, and not signed */
	PB_BOUNCE_VALID,	   /* signed by us, in date */
	PB_BOUNCE_BAD_SIGNATURE,   /* signed form, wrong hash (or malformed) */
	PB_BOUNCE_EXPIRED,	   /* signed by us, too old */
	PB_BOUNCE_NO_KEY,	   /* signed form, but we have no key for it */
} pb_bounce_kind;

typedef struct pb_bounce_info {
	pb_bounce_kind kind;
	const char *scheme; /* "srs", "prvs" or "" */
	pb_sign_err err;    /* the verifier's answer */
	/* the address the bounce really goes to: the unsigned original for
	 * prvs and for valid SRS, else the recipient as given */
	char inner[PB_SIGN_OUT_MAX];
} pb_bounce_info;

/* pb_signer_bounce - classify rcpt, the recipient of a message with the
 * null sender. */
void pb_signer_bounce(const pb_signer *s, const char *rcpt, time_t now,
		      pb_bounce_info *bi);

/* pb_signer_unwrap - for any recipient: when rcpt is prvs-signed (valid or
 * not), the address inside, so the directory is asked about the mailbox
 * and not its signed form.  Returns false (out untouched) otherwise. */
bool pb_signer_unwrap(const char *rcpt, char *out, size_t outlen);

/* pb_signer_protected - addr, or its domain, is in [bounces] protect, or
 * its domain is the SRS domain (every address there is signed). */
bool pb_signer_protected(const pb_signer *s, const char *addr);

/* pb_signer_no_bounces - addr's local part, or addr, is in [bounces]
 * no_bounces. */
bool pb_signer_no_bounces(const pb_signer *s, const char *addr);

#endif

/*
 * addr - parse and normalise one mailbox address (local-part@domain).
 *
 * Memory: pb_addr holds its text inline; no allocation.  Thread-safe.
 * SECURITY: input is untrusted (envelope addresses from the MTA, header
 * addresses, CLI arguments); parsers take (p, len) and never read past len.
 */
#ifndef PB_ADDR_H
#define PB_ADDR_H

#include <stdbool.h>
#include <stddef.h>

/* RFC 5321 4.5.3.1: local-part 64, domain 255, path 256 octets.  We keep a
 * little headroom so an over-long but otherwise sane address is reported as
 * too long rather than silently truncated. */
#define PB_LOCAL_MAX 256
#define PB_DOMAIN_MAX 255
#define PB_ADDR_MAX (PB_LOCAL_MAX + 1 + PB_DOMAIN_MAX)

typedef enum pb_addr_err {
	PB_ADDR_OK = 0,
	PB_ADDR_EMPTY,	    /* zero-length input (the null sender) */
	PB_ADDR_NO_AT,	    /* no '@' separating local part and domain */
	PB_ADDR_BAD_LOCAL,  /* local part is not a dot-atom or quoted-string */
	PB_ADDR_BAD_DOMAIN, /* domain is not a hostname or address literal */
	PB_ADDR_TOO_LONG,   /* a part exceeds PB_LOCAL_MAX / PB_DOMAIN_MAX */
} pb_addr_err;

/* Options that change normalisation, from [directory]. */
typedef struct pb_addr_opts {
	/* Characters any of which starts a subaddress extension ("+", "+-");
	 * empty string disables stripping. */
	const char *delimiters;
	/* Fold the local part to lower case (domains are always folded). */
	bool fold_local;
} pb_addr_opts;

typedef struct pb_addr {
	/* The local part as given, quotes removed and quoted-pairs undone
	 * (so "a\"b"@x has local = a"b).  NUL-terminated. */
	char local[PB_LOCAL_MAX + 1];
	/* The domain, lower-cased, without a trailing dot; an address literal
	 * keeps its brackets ("[192.0.2.1]"). */
	char domain[PB_DOMAIN_MAX + 1];
	/* local@domain folded per opts, extension kept: the first key tried
	 * in directory lookups. */
	char full[PB_ADDR_MAX + 1];
	/* local@domain folded per opts, extension stripped: the second key
	 * tried (equal to full when there is no extension). */
	char key[PB_ADDR_MAX + 1];
	/* The base local part used in key (extension stripped, folded). */
	char key_local[PB_LOCAL_MAX + 1];
	/* The extension that was stripped, without its delimiter ("" if none).
	 */
	char extension[PB_LOCAL_MAX + 1];
	bool quoted;  /* the local part was a quoted-string */
	bool literal; /* the domain is an address literal */
} pb_addr;

/* pb_addr_parse - parse an envelope-form address (no angle brackets, no
 * comments, no display name).  Surrounding <...> are accepted and removed.
 * Returns PB_ADDR_OK and fills *out, or an error code (out undefined). */
pb_addr_err pb_addr_parse(const char *p, size_t len, const pb_addr_opts *opts,
			  pb_addr *out);

/* pb_addr_strerror - short human text for an error code. */
const char *pb_addr_strerror(pb_addr_err err);

/* pb_domain_normalise - lower-case a domain name and drop a trailing dot
 * into out (size cap).  Returns 0, or -1 when it is not a valid hostname or
 * does not fit. */
int pb_domain_normalise(const char *p, size_t len, char *out, size_t cap);

#endif

/*
 * secrets - the SRS and BATV key files.
 *
 * A key file holds one secret a line; blank lines and lines starting with
 * '#' are skipped, trailing white space (CR too) is removed, and a secret
 * that starts with white space or holds a control character is an error
 * (see secrets.c for why).  The first secret signs, every secret verifies, so a
 * new key can be put first while mail signed with the old one is still in
 * flight.  BATV files number their keys: "N SECRET", N = 0..9 (the digit
 * that Exim's ${prvs} puts after "prvs=").
 *
 * The file must be a regular file that neither group nor others may read
 * or write (mode 0600 or stricter): a readable secret lets anyone forge
 * signed addresses.  Loading refuses anything else and says why.
 *
 * Memory: pb_keys is a fixed-size value, no allocation.  Read-only after
 * loading, shared by all threads.
 */
#ifndef PB_SECRETS_H
#define PB_SECRETS_H

#include <stdbool.h>
#include <stddef.h>

#define PB_KEYS_MAX 16	   /* secrets in one file */
#define PB_KEY_LEN_MAX 256 /* bytes of one secret */

typedef struct pb_key {
	int id;	    /* BATV key number 0..9; -1 in SRS files */
	size_t len; /* bytes in secret */
	unsigned char secret[PB_KEY_LEN_MAX];
} pb_key;

typedef struct pb_keys {
	size_t n; /* keys[0] signs; all verify */
	pb_key keys[PB_KEYS_MAX];
} pb_keys;

/* pb_keys_load - read path into keys.  numbered: lines are "N SECRET"
 * (BATV).  Returns 0, or -1 with a message naming path (and line) in err.
 */
int pb_keys_load(pb_keys *keys, const char *path, bool numbered, char *err,
		 size_t errlen);

/* pb_keys_new - create path (which must not exist) with mode 0600 holding
 * one fresh random secret (32 bytes from the kernel, base64, so the file is
 * text that postsrsd and Mail::SRS read the same way).  numbered: write it
 * as "0 SECRET".  Returns 0, or -1 with err set. */
int pb_keys_new(const char *path, bool numbered, char *err, size_t errlen);

/* pb_keys_wipe - overwrite the secrets in memory. */
void pb_keys_wipe(pb_keys *keys);

#endif

/*
 * hmac - HMAC-SHA1 over OpenSSL's libcrypto, MAC encodings, and the
 * constant-time comparison of a MAC read from an address.
 *
 * Why fold case before comparing: mail systems are allowed to change the
 * case of a local part (RFC 5321 2.4 says they should not, some do), and
 * Mail::SRS and postsrsd both accept a case-smashed SRS hash; for prvs the
 * hex digits carry no case information anyway.  Folding halves the
 * strength of each base64 character, which the hash length has to pay for
 * (Mail::SRS: "approximately equivalent to base36 at worst").
 *
 * Why a context per thread: OpenSSL 3's one-shot HMAC() fetches the
 * algorithms by name under a lock and allocates a context on every call,
 * which costs more than the MAC itself (2.1 us against 0.4 us here).  Each
 * thread keeps one keyed EVP_MAC_CTX and re-keys it only when the key
 * changes.
 *
 * Memory: one context and a copy of the last key per thread, freed when
 * the thread ends (a pthread key destructor); the HMAC algorithm is
 * fetched once for the process.  Thread-safe.
 * SECURITY: the MAC in an address is attacker-chosen; it is compared with
 * CRYPTO_memcmp on folded copies, never with strcmp.
 */
#include "sign/hmac.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

/* One thread's HMAC context and the key it is set up with. */
typedef struct mac_state {
	EVP_MAC_CTX *ctx;
	bool keyed;
	size_t key_len;
	unsigned char key[PB_KEY_LEN_MAX];
} mac_state;

static pthread_once_t mac_once = PTHREAD_ONCE_INIT;
static pthread_key_t mac_key;
static EVP_MAC *mac_alg; /* fetched once, kept for the process */

/* mac_state_free - thread exit: free the context, wipe the key copy. */
static void mac_state_free(void *arg)
{
	mac_state *st = arg;

	EVP_MAC_CTX_free(st->ctx);
	OPENSSL_cleanse(st, sizeof(*st));
	free(st);
}

/* mac_init - fetch HMAC once; make the per-thread slot. */
static void mac_init(void)
{
	mac_alg = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL);
	if (pthread_key_create(&mac_key, mac_state_free) != 0) {
		EVP_MAC_free(mac_alg);
		mac_alg = NULL;
	}
}

/* mac_state_get - this thread's context, made on first use. */
static mac_state *mac_state_get(void)
{
	char digest[] = "SHA1";
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
	    OSSL_PARAM_construct_end(),
	};
	mac_state *st;

	if (pthread_once(&mac_once, mac_init) != 0 || mac_alg == NULL)
		return NULL;
	st = pthread_getspecific(mac_key);
	if (st != NULL)
		return st;
	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return NULL;
	st->ctx = EVP_MAC_CTX_new(mac_alg);
	if (st->ctx == NULL || EVP_MAC_CTX_set_params(st->ctx, params) != 1 ||
	    pthread_setspecific(mac_key, st) != 0) {
		EVP_MAC_CTX_free(st->ctx);
		free(st);
		return NULL;
	}
	return st;
}

/* pb_key_usable - a secret of 1..PB_KEY_LEN_MAX bytes. */
bool pb_key_usable(const pb_key *key)
{
	return key != NULL && key->len > 0 && key->len <= PB_KEY_LEN_MAX;
}

/* pb_hmac_sha1 - one HMAC-SHA1 on this thread's context. */
int pb_hmac_sha1(const pb_key *key, const void *msg, size_t len,
		 unsigned char mac[PB_SHA1_LEN])
{
	static const unsigned char empty[1];
	size_t maclen = 0;
	mac_state *st;
	int ok;

	if (!pb_key_usable(key) || (st = mac_state_get()) == NULL)
		return -1;
	if (st->keyed && st->key_len == key->len &&
	    memcmp(st->key, key->secret, key->len) == 0) {
		ok = EVP_MAC_init(st->ctx, NULL, 0, NULL);
	} else {
		st->keyed = false;
		ok = EVP_MAC_init(st->ctx, key->secret, key->len, NULL);
		if (ok == 1) {
			memcpy(st->key, key->secret, key->len);
			st->key_len = key->len;
			st->keyed = true;
		}
	}
	if (ok != 1 ||
	    EVP_MAC_update(st->ctx, len > 0 ? msg : empty, len) != 1 ||
	    EVP_MAC_final(st->ctx, mac, &maclen, PB_SHA1_LEN) != 1 ||
	    maclen != PB_SHA1_LEN) {
		st->keyed = false;
		return -1;
	}
	return 0;
}

/* pb_mac_base64 - base64 of 20 bytes, unpadded (as Digest's b64digest). */
void pb_mac_base64(const unsigned char mac[PB_SHA1_LEN],
		   char out[PB_SHA1_B64_LEN + 1])
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, o = 0;

	/* 20 bytes: six groups of three, then two bytes (three characters) */
	for (i = 0; i + 3 <= PB_SHA1_LEN; i += 3) {
		unsigned long v = (unsigned long)mac[i] << 16 |
				  (unsigned long)mac[i + 1] << 8 | mac[i + 2];
		out[o++] = tab[v >> 18 & 63];
		out[o++] = tab[v >> 12 & 63];
		out[o++] = tab[v >> 6 & 63];
		out[o++] = tab[v & 63];
	}
	{
		unsigned long v = (unsigned long)mac[i] << 16 |
				  (unsigned long)mac[i + 1] << 8;
		out[o++] = tab[v >> 18 & 63];
		out[o++] = tab[v >> 12 & 63];
		out[o++] = tab[v >> 6 & 63];
	}
	out[o] = '\0';
}

/* pb_mac_hex - lower-case hex, as Exim's hex_digits. */
void pb_mac_hex(const unsigned char mac[PB_SHA1_LEN],
		char out[PB_SHA1_HEX_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < PB_SHA1_LEN; i++) {
		out[2 * i] = hex[mac[i] >> 4];
		out[2 * i + 1] = hex[mac[i] & 15];
	}
	out[PB_SHA1_HEX_LEN] = '\0';
}

/* fold - ASCII lower case without a branch on the byte */
static unsigned char fold(unsigned char c)
{
	unsigned int upper = (unsigned int)((c - 'A') & 0xff) < 26u;

	return (unsigned char)(c | (upper << 5));
}

/* pb_mac_equal_fold - constant-time, case-insensitive comparison. */
bool pb_mac_equal_fold(const char *a, const char *b, size_t n)
{
	unsigned char fa[PB_SHA1_HEX_LEN], fb[PB_SHA1_HEX_LEN];
	int diff;

	if (n > PB_SHA1_HEX_LEN)
		return false;
	for (size_t i = 0; i < n; i++) {
		fa[i] = fold((unsigned char)a[i]);
		fb[i] = fold((unsigned char)b[i]);
	}
	diff = CRYPTO_memcmp(fa, fb, n);
	OPENSSL_cleanse(fa, sizeof(fa));
	OPENSSL_cleanse(fb, sizeof(fb));
	return diff == 0;
}

/* pb_sign_day - floor(now / 86400). */
long long pb_sign_day(time_t now)
{
	long long t = (long long)now, d = t / 86400;

	return (t % 86400 < 0) ? d - 1 : d;
}

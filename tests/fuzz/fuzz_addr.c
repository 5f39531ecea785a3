/*
 * fuzz_addr - libFuzzer harness for pb_addr_parse and pb_domain_normalise.
 *
 * Each input is parsed with no options and with ("+-", fold); on success
 * the invariants below must hold, else the harness aborts.
 *
 * Memory: the input is copied into an exactly-sized heap buffer so ASan
 * catches reads past len.  Single-threaded.
 * SECURITY: the input is arbitrary bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* die - report a broken invariant and abort */
static void die(const char *what, const pb_addr *a)
{
	fprintf(stderr, "invariant broken: %s (full \"%s\" key \"%s\")\n", what,
		a->full, a->key);
	abort();
}

/* check - parse p[0..len) with opts and check the invariants */
static void check(const char *p, size_t len, const pb_addr_opts *opts)
{
	pb_addr a, b;
	size_t i, dl, kl;
	pb_addr_err err = pb_addr_parse(p, len, opts, &a);

	if (pb_addr_strerror(err) == NULL)
		abort();
	if (err != PB_ADDR_OK)
		return;
	dl = strlen(a.domain);
	kl = strlen(a.key_local);
	if (dl == 0 || dl > PB_DOMAIN_MAX)
		die("domain length", &a);
	for (i = 0; i < dl; i++)
		if (a.domain[i] >= 'A' && a.domain[i] <= 'Z')
			die("upper case in domain", &a);
	if (a.domain[dl - 1] == '.')
		die("trailing dot in domain", &a);
	if (a.literal != (a.domain[0] == '['))
		die("literal flag", &a);
	if (strlen(a.local) > PB_LOCAL_MAX || kl > PB_LOCAL_MAX)
		die("local length", &a);
	/* key = key_local "@" domain; full ends in "@" domain */
	if (strncmp(a.key, a.key_local, kl) != 0 || a.key[kl] != '@' ||
	    strcmp(a.key + kl + 1, a.domain) != 0)
		die("key is not key_local@domain", &a);
	if (strlen(a.full) < dl + 1 ||
	    strcmp(a.full + strlen(a.full) - dl, a.domain) != 0 ||
	    a.full[strlen(a.full) - dl - 1] != '@')
		die("full does not end in @domain", &a);
	/* the extension is the tail of the local part after one delimiter */
	if (a.extension[0] != '\0' || strcmp(a.key, a.full) != 0) {
		size_t ll = strlen(a.local), el = strlen(a.extension);
		if (opts == NULL || el + 2 > ll ||
		    strcmp(a.local + ll - el, a.extension) != 0 ||
		    strchr(opts->delimiters, a.local[ll - el - 1]) == NULL)
			die("extension is not a delimited tail", &a);
		/* the base's written form is at most the whole's + 2 */
		if (strlen(a.key) > strlen(a.full) + 2)
			die("key much longer than full", &a);
	} else if (strcmp(a.key, a.full) != 0) {
		die("key differs from full without extension", &a);
	}
	/* fold: no upper-case ASCII in full */
	if (opts != NULL && opts->fold_local)
		for (i = 0; a.full[i] != '\0'; i++)
			if (a.full[i] >= 'A' && a.full[i] <= 'Z')
				die("upper case in folded full", &a);
	/* normalised forms are fixed points (the extension keeps its case,
	 * so it compares folded) */
	if (pb_addr_parse(a.full, strlen(a.full), opts, &b) != PB_ADDR_OK ||
	    strcmp(a.full, b.full) != 0 || strcmp(a.key, b.key) != 0 ||
	    strcmp(a.domain, b.domain) != 0 ||
	    strcasecmp(a.extension, b.extension) != 0)
		die("re-parse of full differs", &a);
	if (pb_addr_parse(a.key, strlen(a.key), opts, &b) != PB_ADDR_OK)
		die("key does not parse", &a);
	/* the local part as decoded is what the written form decodes to */
	{
		pb_addr n;
		if (pb_addr_parse(a.full, strlen(a.full), NULL, &n) !=
			PB_ADDR_OK ||
		    strlen(n.local) != strlen(a.local) ||
		    (!(opts != NULL && opts->fold_local) &&
		     strcmp(n.local, a.local) != 0))
			die("local part does not round-trip", &a);
	}
	/* pb_domain_normalise agrees on host names */
	if (!a.literal) {
		char d[PB_DOMAIN_MAX + 1];
		if (pb_domain_normalise(a.domain, dl, d, sizeof(d)) != 0 ||
		    strcmp(d, a.domain) != 0)
			die("pb_domain_normalise disagrees", &a);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const pb_addr_opts opts = {"+-", true};
	char *p = malloc(size ? size : 1);
	char d[PB_DOMAIN_MAX + 1];
	size_t i;

	if (p == NULL)
		return 0;
	memcpy(p, data, size);
	check(p, size, NULL);
	check(p, size, &opts);
	if (pb_domain_normalise(p, size, d, sizeof(d)) == 0)
		for (i = 0; d[i] != '\0'; i++)
			if (d[i] >= 'A' && d[i] <= 'Z')
				abort();
	free(p);
	return 0;
}

/*
 * fuzz_hdraddr - libFuzzer harness for pb_hdr_addresses.
 *
 * Invariants checked on every input (the harness aborts when one breaks):
 * - at most max results; every result NUL-terminated inside its slot and
 *   accepted by pb_addr_parse;
 * - every result is contained in the input modulo quoting: its bytes,
 *   without the '"' and '\' the writer may add, are a subsequence of the
 *   input (the parser only drops, never invents);
 * - a smaller max gives a prefix of the results of a larger one;
 * - pure: the same input gives the same results;
 * - folding: a space replaced by CRLF SP (or LF SP) where that is a fold
 *   (not after CR, LF or "\") gives the same results.
 *
 * Memory: the input is copied into an exactly-sized heap buffer so ASan
 * catches reads past len.  Single-threaded.
 * SECURITY: the input is arbitrary bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hdraddr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* die - report a broken invariant and abort */
static void die(const char *what, const char *addr)
{
	fprintf(stderr, "invariant broken: %s (\"%s\")\n", what,
		addr != NULL ? addr : "");
	abort();
}

/* contained - addr without '"' and '\' is a subsequence of p[0..len) */
static int contained(const char *addr, const char *p, size_t len)
{
	size_t i = 0;

	for (; *addr != '\0'; addr++) {
		if (*addr == '"' || *addr == '\\')
			continue;
		while (i < len && p[i] != *addr)
			i++;
		if (i == len)
			return 0;
		i++;
	}
	return 1;
}

/* same - equal result lists */
static int same(const pb_hdr_addr *a, size_t na, const pb_hdr_addr *b,
		size_t nb)
{
	size_t i;

	if (na != nb)
		return 0;
	for (i = 0; i < na; i++)
		if (strcmp(a[i].addr, b[i].addr) != 0)
			return 0;
	return 1;
}

/* folded - the input with the space at j replaced by fold, compared */
static void folded(const char *p, size_t len, size_t j, const char *fold,
		   const pb_hdr_addr *want, size_t nwant)
{
	static pb_hdr_addr got[PB_HDR_ADDRS_MAX];
	size_t flen = strlen(fold), n;
	char *q = malloc(len - 1 + flen);

	if (q == NULL)
		return;
	memcpy(q, p, j);
	memcpy(q + j, fold, flen);
	memcpy(q + j + flen, p + j + 1, len - j - 1);
	n = pb_hdr_addresses(q, len - 1 + flen, got, PB_HDR_ADDRS_MAX);
	free(q);
	if (len - 1 + flen > PB_HDR_BODY_MAX)
		return;
	if (!same(want, nwant, got, n))
		die("folding changed the result", nwant ? want[0].addr : NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static pb_hdr_addr a[PB_HDR_ADDRS_MAX + 1], b[PB_HDR_ADDRS_MAX];
	size_t n, m, i, folds = 0;
	char *p = malloc(size ? size : 1);
	pb_addr parsed;

	if (p == NULL)
		return 0;
	memcpy(p, data, size);
	n = pb_hdr_addresses(p, size, a, PB_HDR_ADDRS_MAX + 1);
	if (n > PB_HDR_ADDRS_MAX)
		die("more than PB_HDR_ADDRS_MAX results", NULL);
	for (i = 0; i < n; i++) {
		const char *z = memchr(a[i].addr, '\0', sizeof(a[i].addr));
		if (z == NULL)
			die("result not NUL-terminated", NULL);
		if (pb_addr_parse(a[i].addr, (size_t)(z - a[i].addr), NULL,
				  &parsed) != PB_ADDR_OK)
			die("result refused by pb_addr_parse", a[i].addr);
		if (!contained(a[i].addr, p, size))
			die("result not contained in the input", a[i].addr);
	}
	m = pb_hdr_addresses(p, size, b, PB_HDR_ADDRS_MAX);
	if (!same(a, n, b, m))
		die("not deterministic", NULL);
	m = pb_hdr_addresses(p, size, b, 2);
	if (m != (n < 2 ? n : 2) || !same(a, m, b, m))
		die("a smaller max is not a prefix", NULL);
	/* folding at the first two and the last safe spaces */
	for (i = 0; i < size && folds < 2; i++)
		if (p[i] == ' ' &&
		    (i == 0 || (p[i - 1] != '\r' && p[i - 1] != '\n' &&
				p[i - 1] != '\\'))) {
			folded(p, size, i, folds ? "\n " : "\r\n ", a, n);
			folds++;
		}
	for (i = size; i > 0 && folds > 0; i--)
		if (p[i - 1] == ' ' &&
		    (i == 1 || (p[i - 2] != '\r' && p[i - 2] != '\n' &&
				p[i - 2] != '\\'))) {
			folded(p, size, i - 1, "\r\n ", a, n);
			break;
		}
	free(p);
	return 0;
}

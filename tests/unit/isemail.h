/*
 * isemail - reading the isemail test vectors (tests.xml, in
 * ../shared/vectors) as they are shipped: the file into memory, the text of
 * an element with its XML entities decoded.  Shared by the envelope
 * address tests (test_addr) and the header address tests (test_hdraddr).
 *
 * Header-only, static functions: each test binary is one source file.
 * Test-only; single-threaded.
 */
#ifndef PB_TEST_ISEMAIL_H
#define PB_TEST_ISEMAIL_H

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		if (buf != NULL) {
			buf[n] = '\0';
			*len = (size_t)n;
		}
	}
	fclose(f);
	return buf;
}

/* find - first occurrence of needle in [p, end), or NULL */
static const char *find(const char *p, const char *end, const char *needle)
{
	size_t n = strlen(needle);

	for (; p != NULL && (size_t)(end - p) >= n; p++)
		if (memcmp(p, needle, n) == 0)
			return p;
	return NULL;
}

/* put_utf8 - encode code point cp; 0, or -1 when out is full */
static int put_utf8(unsigned long cp, char *out, size_t cap, size_t *o)
{
	unsigned char b[4];
	size_t n, i;

	if (cp >= 0x2400 && cp <= 0x241f) { /* control picture -> control */
		b[0] = (unsigned char)(cp - 0x2400);
		n = 1;
	} else if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xc0 | (cp >> 6));
		b[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xe0 | (cp >> 12));
		b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (unsigned char)(0xf0 | (cp >> 18));
		b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	if (cap - *o < n)
		return -1;
	for (i = 0; i < n; i++)
		out[(*o)++] = (char)b[i];
	return 0;
}

/* xml_decode - decode entities of p[0..len) into out; -1 on a bad entity
 * or overflow.  out is not NUL-terminated: the length is *olen. */
static int xml_decode(const char *p, size_t len, char *out, size_t cap,
		      size_t *olen)
{
	static const struct {
		const char *name;
		char c;
	} named[] = {{"&amp;", '&'},
		     {"&lt;", '<'},
		     {"&gt;", '>'},
		     {"&quot;", '"'},
		     {"&apos;", '\''}};
	size_t i = 0, o = 0, k;

	while (i < len) {
		if (p[i] != '&') {
			if (o == cap)
				return -1;
			out[o++] = p[i++];
			continue;
		}
		for (k = 0; k < sizeof(named) / sizeof(named[0]); k++) {
			size_t n = strlen(named[k].name);
			if (len - i >= n &&
			    memcmp(p + i, named[k].name, n) == 0)
				break;
		}
		if (k < sizeof(named) / sizeof(named[0])) {
			if (o == cap)
				return -1;
			out[o++] = named[k].c;
			i += strlen(named[k].name);
		} else if (len - i >= 3 && p[i + 1] == '#') {
			unsigned long cp = 0;
			int hex = p[i + 2] == 'x' || p[i + 2] == 'X';
			size_t j = i + (hex ? 3 : 2), digits = 0;
			for (; j < len && p[j] != ';'; j++, digits++) {
				char c = p[j];
				int v;
				if (c >= '0' && c <= '9')
					v = c - '0';
				else if (hex && c >= 'a' && c <= 'f')
					v = c - 'a' + 10;
				else if (hex && c >= 'A' && c <= 'F')
					v = c - 'A' + 10;
				else
					return -1;
				if (digits > 6)
					return -1;
				cp = cp * (hex ? 16 : 10) + (unsigned long)v;
			}
			if (j == len || digits == 0 || cp > 0x10ffff)
				return -1;
			if (put_utf8(cp, out, cap, &o) < 0)
				return -1;
			i = j + 1;
		} else {
			return -1;
		}
	}
	*olen = o;
	return 0;
}

/* element - text of <tag>...</tag> within [p, end) into out (decoded);
 * "<tag/>" gives "".  -1 when absent or undecodable. */
static int element(const char *p, const char *end, const char *tag, char *out,
		   size_t cap, size_t *olen)
{
	char open[64], empty[64], close[64];
	const char *a, *b;

	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(empty, sizeof(empty), "<%s/>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	if ((a = find(p, end, open)) != NULL) {
		a += strlen(open);
		if ((b = find(a, end, close)) == NULL)
			return -1;
		return xml_decode(a, (size_t)(b - a), out, cap, olen);
	}
	if (find(p, end, empty) != NULL) {
		*olen = 0;
		return 0;
	}
	return -1;

#endif

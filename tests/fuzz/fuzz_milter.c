/*
 * fuzz_milter - libFuzzer harness for the milter codec.
 *
 * The input is an MTA's byte stream.  Invariants (abort when broken):
 *   - mlt_parse never consumes more than it was given, never more than
 *     4 + MLT_PACKET_MAX, and a packet's data lies inside the input with
 *     dlen + 5 == used;
 *   - the sequence of packets is the same whether the stream arrives
 *     whole or one byte at a time;
 *   - every argument parser, run on every packet, returns strings inside
 *     the packet;
 *   - what the reply encoders write, mlt_parse reads back.
 * Memory: packets are copied to exactly-sized heap buffers (ASan sees
 * over-reads).  Single-threaded.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/milter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_EVENTS 64

typedef struct event {
	mlt_status st;
	char cmd;
	size_t dlen;
	uint32_t sum; /* of the data */
} event;

/* inside - s lies within [p, p + n). */
static void inside(mlt_str s, const char *p, size_t n)
{
	if (s.len > 0 && (s.p < p || s.p + s.len > p + n))
		abort();
}

/* args - run every argument parser on one packet's data. */
static void args(const char *d, size_t n)
{
	mlt_str s[8], name, value;
	mlt_connect c;
	mlt_optneg o, out;
	int k = mlt_strings(d, n, s, 8);

	for (int i = 0; i < k && i < 8; i++) {
		inside(s[i], d, n);
		inside(mlt_path(s[i]), d, n);
		inside(mlt_macro_name(s[i]), d, n);
	}
	if (mlt_connect_parse(d, n, &c) == 0) {
		inside(c.host, d, n);
		if (c.family != 'U')
			inside(c.addr, d, n);
		if (c.port > 65535)
			abort();
	}
	if (mlt_header_parse(d, n, &name, &value) == 0) {
		inside(name, d, n);
		inside(value, d, n);
		if (name.len == 0 || name.p[name.len] != '\0')
			abort();
	}
	if (mlt_optneg_parse(d, n, &o) == 0 &&
	    mlt_negotiate(&o, 0x101, 0x1fffff, &out) == 0 &&
	    (out.version > MLT_VERSION || (out.actions & ~o.actions) ||
	     (out.protocol & ~o.protocol)))
		abort();
}

/* run - the packets of the stream, fed step bytes at a time (0: whole). */
static size_t run(const uint8_t *data, size_t size, size_t step, event *evs)
{
	char *buf = malloc(size + 1);
	size_t have = 0, fed = 0, n = 0;

	if (buf == NULL)
		abort();
	while (n < MAX_EVENTS) {
		const char *d = NULL;
		size_t dlen = 0, used = 0;
		char cmd = 0, *exact;
		mlt_status st;

		if (fed < size) {
			size_t add = step == 0 ? size - fed : step;

			if (add > size - fed)
				add = size - fed;
			memcpy(buf + have, data + fed, add);
			have += add;
			fed += add;
		}
		exact = malloc(have ? have : 1);
		if (exact == NULL)
			abort();
		memcpy(exact, buf, have);
		st = mlt_parse(exact, have, MLT_PACKET_MAX, &cmd, &d, &dlen,
			       &used);
		if (st == MLT_PACKET) {
			uint32_t sum = 0;

			if (used > have || used > 4 + MLT_PACKET_MAX ||
			    dlen + 5 != used || d != exact + 5)
				abort();
			for (size_t i = 0; i < dlen; i++)
				sum = sum * 31 + (unsigned char)d[i];
			evs[n++] = (event){st, cmd, dlen, sum};
			args(d, dlen);
		} else if (used != 0) {
			abort();
		}
		free(exact);
		if (st == MLT_FATAL) {
			evs[n++] = (event){st, 0, 0, 0};
			break;
		}
		if (st == MLT_MORE) {
			if (fed == size)
				break;
			continue;
		}
		memmove(buf, buf + used, have - used);
		have -= used;
	}
	free(buf);
	return n;
}

/* roundtrip - encoders and the parser agree. */
static void roundtrip(const uint8_t *data, size_t size)
{
	char text[600], out[1400], *value;
	const char *d;
	size_t n = size < 500 ? size : 500, len, dlen, used;
	char cmd;

	for (size_t i = 0; i < n; i++)
		text[i] = data[i] ? (char)data[i] : ' ';
	text[n] = '\0';
	len = mlt_encode_replycode(out, sizeof(out), text);
	if (len == 0 ||
	    mlt_parse(out, len, MLT_PACKET_MAX, &cmd, &d, &dlen, &used) !=
		MLT_PACKET ||
	    used != len || cmd != MLT_R_REPLYCODE || d[dlen - 1] != '\0')
		abort();
	/* undoubling '%' gives the text back */
	for (size_t i = 0, j = 0; i + 1 < dlen; i++, j++) {
		if (d[i] == '%' && d[++i] != '%')
			abort();
		if (d[i] != text[j])
			abort();
	}
	value = text + n / 2;
	text[n / 2] = '\0';
	len = mlt_encode_addheader(out, sizeof(out), text[0] ? text : "X",
				   value + (n / 2 < n ? 1 : 0));
	if (len == 0 ||
	    mlt_parse(out, len, MLT_PACKET_MAX, &cmd, &d, &dlen, &used) !=
		MLT_PACKET ||
	    used != len || cmd != MLT_R_ADDHEADER)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static event whole[MAX_EVENTS], bytes[MAX_EVENTS];
	size_t nw, nb;

	if (size > 70000)
		return 0;
	nw = run(data, size, 0, whole);
	nb = run(data, size, size > 4096 ? 97 : 1, bytes);
	if (nw != nb)
		abort();
	for (size_t i = 0; i < nw; i++)
		if (whole[i].st != bytes[i].st ||
		    whole[i].cmd != bytes[i].cmd ||
		    whole[i].dlen != bytes[i].dlen ||
		    whole[i].sum != bytes[i].sum)
			abort();
	roundtrip(data, size);
	return 0;
}

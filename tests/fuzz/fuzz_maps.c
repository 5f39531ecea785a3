/*
 * fuzz_maps - libFuzzer harness for the socketmap and tcp_table codecs.
 *
 * The first byte chooses the protocol; the rest is a client's stream.
 * Invariants (abort when broken):
 *   - a parser never consumes more than it was given, and a request's
 *     payload lies inside the input;
 *   - the sequence of results is the same whether the stream arrives
 *     whole or one byte at a time (how TCP splits it never matters);
 *   - a key tt_encode writes is read back unchanged by tt_parse, and a
 *     payload ns_format writes is read back unchanged by ns_parse.
 * Memory: inputs are copied to exactly-sized heap buffers (ASan sees
 * over-reads).  Single-threaded.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/maps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_EVENTS 64

typedef struct event {
	maps_status st;
	char key[MAPS_REQUEST_MAX + 1];
	size_t klen;
} event;

/* parse_one - one request from buf with proto; fills ev. */
static maps_status parse_one(int proto, const char *buf, size_t len, event *ev,
			     size_t *used)
{
	const char *payload = NULL;
	size_t plen = 0;
	maps_status st;

	if (proto == 0) {
		st =
		    ns_parse(buf, len, MAPS_REQUEST_MAX, &payload, &plen, used);
		if (st == MAPS_REQUEST) {
			if (payload < buf || payload + plen > buf + len ||
			    plen > MAPS_REQUEST_MAX)
				abort();
			memcpy(ev->key, payload, plen);
			ev->klen = plen;
		}
	} else {
		st = tt_parse(buf, len, MAPS_REQUEST_MAX, ev->key,
			      sizeof(ev->key), used);
		if (st == MAPS_REQUEST)
			ev->klen = strlen(ev->key);
	}
	if (*used > len)
		abort();
	if ((st == MAPS_MORE && *used != 0) ||
	    ((st == MAPS_REQUEST || st == MAPS_BAD) && *used == 0))
		abort();
	ev->st = st;
	return st;
}

/* run - all events of the stream, fed in pieces of step bytes (0: whole).
 */
static size_t run(int proto, const uint8_t *data, size_t size, size_t step,
		  event *evs)
{
	char *buf = malloc(size + 1);
	size_t have = 0, fed = 0, n = 0;

	if (buf == NULL)
		abort();
	while (n < MAX_EVENTS) {
		size_t used = 0;
		event ev;
		maps_status st;
		char *exact;

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
		st = parse_one(proto, exact, have, &ev, &used);
		free(exact);
		if (st == MAPS_MORE) {
			if (fed == size)
				break;
			continue;
		}
		evs[n++] = ev;
		if (st == MAPS_FATAL)
			break;
		memmove(buf, buf + used, have - used);
		have -= used;
	}
	free(buf);
	return n;
}

/* roundtrip - encoders and parsers agree. */
static void roundtrip(const uint8_t *data, size_t size)
{
	char value[256], enc[1024], line[1100], key[600], ns[1100];
	const char *payload;
	size_t n = size < sizeof(value) - 1 ? size : sizeof(value) - 1, k, used,
	       plen;
	bool printable = n > 0;

	memcpy(value, data, n);
	value[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)value[i] < 0x20 || value[i] == 0x7f)
			printable = false;
	k = tt_encode(enc, sizeof(enc), value);
	if (printable && k > 0) {
		int m = snprintf(line, sizeof(line), "get %s\n", enc);

		if (tt_parse(line, (size_t)m, MAPS_REQUEST_MAX, key,
			     sizeof(key), &used) != MAPS_REQUEST ||
		    strcmp(key, value) != 0 || used != (size_t)m)
			abort();
	}
	k = ns_format(ns, sizeof(ns), (const char *)data, n);
	if (k == 0 ||
	    ns_parse(ns, k, MAPS_REQUEST_MAX, &payload, &plen, &used) !=
		MAPS_REQUEST ||
	    plen != n || used != k || memcmp(payload, data, n) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static event whole[MAX_EVENTS], bytes[MAX_EVENTS];
	size_t nw, nb;
	int proto;

	if (size < 1 || size > 16384)
		return 0;
	proto = data[0] & 1;
	nw = run(proto, data + 1, size - 1, 0, whole);
	nb = run(proto, data + 1, size - 1, 1, bytes);
	if (nw != nb)
		abort();
	for (size_t i = 0; i < nw; i++)
		if (whole[i].st != bytes[i].st ||
		    (whole[i].st == MAPS_REQUEST &&
		     (whole[i].klen != bytes[i].klen ||
		      memcmp(whole[i].key, bytes[i].key, whole[i].klen) != 0)))
			abort();
	roundtrip(data + 1, size - 1);
	return 0;
}

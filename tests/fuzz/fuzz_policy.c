/*
 * fuzz_policy - libFuzzer harness for the policy request parser
 * (pol_parser, src/frontend/policy.h).
 *
 * The input's first byte seeds how the rest is cut into reads; the rest is
 * the byte stream an MTA would send.  The stream is parsed twice: once as
 * a single read, once cut into reads of 1..17 bytes, each copied into its
 * own exactly-sized heap buffer so that ASan sees any read past a chunk.
 * Both runs must report the same events (status, where in the stream it
 * happened, error text and the facts left in the txn): how TCP splits the
 * stream must never change an answer.  Small limits (64-byte lines, 8
 * attributes, 512-byte requests) make every limit path reachable.
 *
 * Other invariants checked: *used never exceeds the input, POL_MORE
 * consumes everything, every txn field stays NUL-terminated, a
 * malformed request always has an error text.  A violation abort()s.
 *
 * Memory: everything allocated per input is freed before returning.
 * SECURITY: this is the code that reads untrusted input; keep the limits
 * small so the fuzzer reaches them.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/policy.h"

typedef struct event {
	pol_status st;
	size_t pos; /* stream offset just after the event */
	bool stage_known;
	char error[160];
	uint64_t txn_hash; /* FNV-1a of the txn's bytes */
} event;

typedef struct run {
	event *ev;
	size_t n, cap;
	bool fatal;
} run;

static const pol_limits limits = {
    .max_line = 64,
    .max_attributes = 8,
    .max_request = 512,
};

/* fail - report and abort so libFuzzer saves the input. */
static void fail(const char *what, size_t i)
{
	fprintf(stderr, "fuzz_policy: %s (event %zu)\n", what, i);
	abort();
}

/* field_ok - a txn field is NUL-terminated within its capacity. */
static void field_ok(const char *f, size_t cap, const char *name)
{
	if (memchr(f, '\0', cap) == NULL)
		fail(name, 0);
}

/* check_txn - every string in the txn is terminated. */
static void check_txn(const pb_txn *t)
{
	field_ok(t->id, sizeof(t->id), "id not terminated");
	field_ok(t->queue_id, sizeof(t->queue_id), "queue_id not terminated");
	field_ok(t->client_address, sizeof(t->client_address),
		 "client_address not terminated");
	field_ok(t->client_name, sizeof(t->client_name),
		 "client_name not terminated");
	field_ok(t->helo, sizeof(t->helo), "helo not terminated");
	field_ok(t->sasl_username, sizeof(t->sasl_username),
		 "sasl_username not terminated");
	field_ok(t->sender, sizeof(t->sender), "sender not terminated");
	field_ok(t->recipient, sizeof(t->recipient),
		 "recipient not terminated");
	if ((unsigned)t->stage >= PB_STAGE_COUNT)
		fail("stage out of range", 0);
}

/* fnv1a - 64-bit FNV-1a of len bytes. */
static uint64_t fnv1a(const void *p, size_t len)
{
	const unsigned char *u = p;
	uint64_t h = 14695981039346656037ull;

	for (size_t i = 0; i < len; i++) {
		h ^= u[i];
		h *= 1099511628211ull;
	}
	return h;
}

/* record - remember one completed request. */
static void record(run *r, pol_parser *p, const pb_txn *txn, pol_status st,
		   size_t pos)
{
	const char *err = pol_error(p);
	event *e;

	if (r->n == r->cap)
		fail("more requests than input bytes", r->n);
	e = &r->ev[r->n++];
	memset(e, 0, sizeof(*e));
	e->st = st;
	e->pos = pos;
	e->stage_known = pol_stage_known(p);
	if (err == NULL)
		fail("pol_error returned NULL", r->n);
	if (memchr(err, '\0', sizeof(e->error)) == NULL)
		fail("pol_error text too long", r->n);
	snprintf(e->error, sizeof(e->error), "%s", err);
	if (st != POL_REQUEST && e->error[0] == '\0')
		fail("malformed request without an error text", r->n);
	check_txn(txn);
	e->txn_hash = fnv1a(txn, sizeof(*txn));
}

/* feed - one read of len bytes at stream offset base; false once the
 * connection would be closed (POL_FATAL). */
static bool feed(run *r, pol_parser *p, const pb_txn *txn, const char *buf,
		 size_t len, size_t base)
{
	size_t off = 0;

	while (off < len) {
		size_t used = (size_t)-1;
		pol_status st = pol_feed(p, buf + off, len - off, &used);

		if (used > len - off)
			fail("used exceeds the input", r->n);
		if (st == POL_MORE) {
			if (used != len - off)
				fail("POL_MORE did not consume everything",
				     r->n);
			return true;
		}
		if (st != POL_REQUEST && st != POL_BAD && st != POL_FATAL)
			fail("unknown status", r->n);
		if (st != POL_FATAL && used == 0)
			fail("a request ended without consuming a byte", r->n);
		off += used;
		record(r, p, txn, st, base + off);
		if (st == POL_FATAL) {
			r->fatal = true;
			return false;
		}
	}
	return true;
}

/* parse - run the whole stream through a fresh parser, cut into reads
 * by seed (0: one read). */
static void parse(run *r, const uint8_t *data, size_t len, unsigned seed)
{
	pb_txn *txn = calloc(1, sizeof(*txn));
	pol_parser *p = txn ? pol_parser_new(&limits, txn) : NULL;
	size_t off = 0;
	uint32_t x = seed * 2654435761u + 1;

	if (p == NULL)
		fail("out of memory", 0);
	while (off < len) {
		size_t n = len - off;
		char *chunk;
		bool go;

		if (seed != 0) {
			x = x * 1103515245u + 12345u;
			n = 1 + (x >> 16) % 17;
			if (n > len - off)
				n = len - off;
		}
		chunk = malloc(n);
		if (chunk == NULL)
			fail("out of memory", 0);
		memcpy(chunk, data + off, n);
		go = feed(r, p, txn, chunk, n, off);
		free(chunk);
		off += n;
		if (!go)
			break;
	}
	pol_parser_free(&p);
	if (p != NULL)
		fail("pol_parser_free did not clear the pointer", 0);
	pol_parser_free(&p); /* accepts NULL */
	free(txn);
}

/* same_events - both runs saw the same requests at the same places. */
static void same_events(const run *a, const run *b)
{
	if (a->n != b->n) {
		fprintf(stderr, "one read: %zu events, split reads: %zu\n",
			a->n, b->n);
		fail("split reads changed the number of requests", 0);
	}
	if (a->fatal != b->fatal)
		fail("split reads changed whether the connection closes", 0);
	for (size_t i = 0; i < a->n; i++) {
		const event *x = &a->ev[i], *y = &b->ev[i];

		if (x->st != y->st || x->pos != y->pos) {
			fprintf(stderr,
				"event %zu: one read: status %d at %zu; split "
				"reads: status %d at %zu\n",
				i, x->st, x->pos, y->st, y->pos);
			fail("split reads changed a request's outcome", i);
		}
		if (strcmp(x->error, y->error) != 0) {
			fprintf(stderr, "event %zu: \"%s\" vs \"%s\"\n", i,
				x->error, y->error);
			fail("split reads changed the error text", i);
		}
		if (x->st == POL_REQUEST && (x->stage_known != y->stage_known ||
					     x->txn_hash != y->txn_hash))
			fail("split reads changed the request's facts", i);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* LLVMFuzzerTestOneInput - one input: parse whole and split, compare. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	run whole = {0}, split = {0};
	unsigned seed;

	if (size < 1)
		return 0;
	seed = 1u + data[0];
	data++;
	size--;
	/* Every event consumes at least one byte, but for one final
	 * POL_FATAL that may consume none. */
	whole.cap = split.cap = size + 1;
	whole.ev = calloc(whole.cap, sizeof(event));
	split.ev = calloc(split.cap, sizeof(event));
	if (whole.ev == NULL || split.ev == NULL)
		fail("out of memory", 0);
	parse(&whole, data, size, 0);
	parse(&split, data, size, seed);
	same_events(&whole, &split);
	free(whole.ev);
	free(split.ev);
	return 0;
}

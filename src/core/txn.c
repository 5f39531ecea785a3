/*
 * txn - the facts of one SMTP transaction.  Inline buffers only.
 */
#include "core/txn.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

/* pb_txn_reset - forget every fact; the large arrays by count. */
void pb_txn_reset(pb_txn *t)
{
	memset(t, 0, offsetof(pb_txn, n_rcpts));
	t->n_rcpts = 0;
	t->hdr_from[0] = t->hdr_reply_to[0] = t->hdr_sender[0] = '\0';
}

/* pb_txn_add_rcpt - one more recipient for the end-of-headers checks. */
int pb_txn_add_rcpt(pb_txn *t, const char *addr, size_t len)
{
	if (t->n_rcpts >= PB_TXN_RCPTS_MAX ||
	    pb_txn_set(t->rcpts[t->n_rcpts], sizeof(t->rcpts[0]), addr, len) <
		0)
		return -1;
	t->n_rcpts++;
	return 0;
}

/* pb_txn_set_header - keep From, Reply-To or Sender. */
int pb_txn_set_header(pb_txn *t, const char *name, const char *body, size_t len)
{
	char *field;
	size_t have;

	if (strcasecmp(name, "From") == 0)
		field = t->hdr_from;
	else if (strcasecmp(name, "Reply-To") == 0)
		field = t->hdr_reply_to;
	else if (strcasecmp(name, "Sender") == 0)
		field = t->hdr_sender;
	else
		return 0;
	t->headers_seen = true;
	have = strlen(field);
	if (memchr(body, '\0', len) != NULL ||
	    have + (have > 0) + len >= PB_TXN_HDR_MAX) {
		field[0] = '\0';
		return -1;
	}
	if (have > 0)
		field[have++] = ',';
	memcpy(field + have, body, len);
	field[have + len] = '\0';
	return 0;
}

/* pb_txn_set - bounded copy of one fact; a NUL inside is refused. */
int pb_txn_set(char *field, size_t cap, const char *p, size_t len)
{
	if (len >= cap || memchr(p, '\0', len) != NULL) {
		field[0] = '\0';
		return -1;
	}
	memcpy(field, p, len);
	field[len] = '\0';
	return 0;
}

/* pb_txn_note_answer - count what the transaction let through. */
void pb_txn_note_answer(pb_txn *t, bool refused)
{
	if (t->stage == PB_STAGE_RCPT && !refused && t->sender[0] == '\0')
		t->memo.null_rcpts++;
}

/* pb_stage_name - printable stage. */
const char *pb_stage_name(pb_stage s)
{
	static const char *const names[PB_STAGE_COUNT] = {
	    "CONNECT", "HELO", "MAIL", "RCPT", "DATA", "EOH", "EOM",
	};

	return (unsigned)s < PB_STAGE_COUNT ? names[s] : "?";
}

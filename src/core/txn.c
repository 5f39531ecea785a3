/*
 * txn - the facts of one SMTP transaction.  Inline buffers only.
 */
#include "core/txn.h"

#include <string.h>

/* pb_txn_reset - forget every fact. */
void pb_txn_reset(pb_txn *t)
{
	memset(t, 0, sizeof(*t));
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

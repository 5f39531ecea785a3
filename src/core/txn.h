/*
 * txn - the facts of one SMTP transaction, filled stage by stage by a
 * frontend (policy, milter ...) and read by the checks.
 *
 * Memory: fixed inline buffers, no allocation; one pb_txn per MTA
 * connection (a connection carries one transaction at a time).
 * Not shared between threads.
 */
#ifndef PB_TXN_H
#define PB_TXN_H

#include <stdbool.h>
#include <stddef.h>

#include "core/addr.h"

typedef enum pb_stage {
	PB_STAGE_CONNECT = 0,
	PB_STAGE_HELO,
	PB_STAGE_MAIL,
	PB_STAGE_RCPT,
	PB_STAGE_DATA,
	PB_STAGE_EOH,
	PB_STAGE_EOM,
	PB_STAGE_COUNT
} pb_stage;

#define PB_TXN_ADDR_MAX 2048

typedef struct pb_txn_memo {
	unsigned null_rcpts; /* recipients of a null-sender message that were
				not refused */
} pb_txn_memo;

typedef struct pb_txn {
	char id[128]; /* instance / queue id, for the log */
	char queue_id[64];
	pb_stage stage;
	char client_address[64];
	char client_name[256];
	char helo[256];
	char sasl_username[256];
	/* Envelope addresses as the MTA gave them; room for more than SMTP
	 * allows (Postfix takes lines of 2048), so an over-long address is
	 * judged, not refused as a malformed request. */
	char sender[PB_TXN_ADDR_MAX];	 /* envelope sender, "" = null */
	char recipient[PB_TXN_ADDR_MAX]; /* the recipient being decided */
	unsigned rcpt_count;		 /* recipients accepted so far */

	/* What earlier answers in this transaction said.  The milter keeps
	 * its pb_txn for the whole transaction; the policy frontend carries
	 * this part from request to request while Postfix's instance stays
	 * the same. */
	pb_txn_memo memo;
} pb_txn;

/* pb_txn_reset - forget every fact (a new transaction). */
void pb_txn_reset(pb_txn *t);

/* pb_txn_set - copy len bytes of p into a field of capacity cap.
 * Returns 0, or -1 (field left empty) when it does not fit or holds a NUL. */
int pb_txn_set(char *field, size_t cap, const char *p, size_t len);

/* pb_txn_note_answer - remember what was answered for the current
 * recipient (refused: a 4xx/5xx went out). */
void pb_txn_note_answer(pb_txn *t, bool refused);

/* pb_stage_name - "CONNECT", "RCPT", ... */
const char *pb_stage_name(pb_stage s);

#endif

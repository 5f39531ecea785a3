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
#define PB_TXN_RCPTS_MAX                                                       \
	64		    /* recipients kept for the end-of-headers checks   \
			     */
#define PB_TXN_HDR_MAX 4096 /* bytes of one sender header field body kept */

typedef struct pb_txn_memo {
	unsigned null_rcpts; /* recipients of a null-sender message that were
				not refused */
	/* The list whose posting permission waits for the headers (its
	 * posting address), "" when none: a transaction holds one. */
	char data_list[PB_ADDR_MAX + 1];
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
	/* pb_txn_set_header was given From, Reply-To or Sender: the
	 * header fields are known (end of headers, or a DATA request that
	 * carries them). */
	bool headers_seen;

	/* What earlier answers in this transaction said.  The milter keeps
	 * its pb_txn for the whole transaction; the policy frontend carries
	 * this part from request to request while Postfix's instance stays
	 * the same. */
	pb_txn_memo memo;

	/* Large, and cleared by count, not by memset: the policy frontend
	 * resets the txn for every request.  Keep them last. */
	/* The recipients the end-of-headers checks look at: those accepted
	 * so far (milter), or those a DATA-stage policy request names. */
	unsigned n_rcpts;
	char rcpts[PB_TXN_RCPTS_MAX][PB_ADDR_MAX + 1];
	/* The sender header field bodies as the MTA gave them (folded or
	 * not), "" when absent or longer than PB_TXN_HDR_MAX - 1. */
	char hdr_from[PB_TXN_HDR_MAX];
	char hdr_reply_to[PB_TXN_HDR_MAX];
	char hdr_sender[PB_TXN_HDR_MAX];
} pb_txn;

/* pb_txn_reset - forget every fact (a new transaction). */
void pb_txn_reset(pb_txn *t);

/* pb_txn_set - copy len bytes of p into a field of capacity cap.
 * Returns 0, or -1 (field left empty) when it does not fit or holds a NUL. */
int pb_txn_set(char *field, size_t cap, const char *p, size_t len);

/* pb_txn_add_rcpt - remember a recipient for the end-of-headers checks.
 * -1 when PB_TXN_RCPTS_MAX are kept already or addr is too long. */
int pb_txn_add_rcpt(pb_txn *t, const char *addr, size_t len);

/* pb_txn_set_header - keep a sender header field's body ("From",
 * "Reply-To", "Sender"; any case).  Other names are ignored (0); a body
 * too long to keep leaves the field empty (-1: treated as no address).
 * A second field of the same name is appended after a comma, so both
 * fields' addresses count. */
int pb_txn_set_header(pb_txn *t, const char *name, const char *body,
		      size_t len);

/* pb_txn_note_answer - remember what was answered for the current
 * recipient (refused: a 4xx/5xx went out). */
void pb_txn_note_answer(pb_txn *t, bool refused);

/* pb_stage_name - "CONNECT", "RCPT", ... */
const char *pb_stage_name(pb_stage s);

#endif

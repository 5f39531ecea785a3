/*
 * reasons - the fixed vocabulary of reason tokens.  Logs, the CLI's
 * explanation and (later) metrics and X-Pushback-Reason use these strings;
 * doc/pushback.conf.5 lists them.  Add here, never inline a new string.
 */
#ifndef PB_REASONS_H
#define PB_REASONS_H

#define PB_R_NONE ""
#define PB_R_NOT_PROTECTED "not-protected"
#define PB_R_UNKNOWN_RECIPIENT "unknown-recipient"
#define PB_R_NULL_SENDER_TO_LIST "null-sender-to-list"
#define PB_R_LIST_CLOSED "list-closed"
#define PB_R_SENDER_NOT_PERMITTED "sender-not-permitted"
#define PB_R_BACKEND_UNAVAILABLE "backend-unavailable"
#define PB_R_MALFORMED_REQUEST "malformed-request"
#define PB_R_BAD_ADDRESS "bad-address"
#define PB_R_UNSIGNED_BOUNCE "unsigned-bounce"
#define PB_R_BAD_SIGNATURE "bad-signature"
#define PB_R_EXPIRED_SIGNATURE "expired-signature"
#define PB_R_ONE_RCPT_PER_BOUNCE "one-recipient-per-bounce"
#define PB_R_NO_BOUNCES_HERE "no-bounces-here"
#define PB_R_ONE_LIST_PER_TXN "one-list-per-transaction"
#define PB_R_TOO_MANY_RCPTS "too-many-recipients"

#endif

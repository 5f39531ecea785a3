-- envelope.lua - the RCPT-stage checks, with the macros Postfix sends.
dofile(lib)
local conn = open()
ok(mt.macro(conn, SMFIC_CONNECT, "j", "mx.example.org",
	"{daemon_name}", "smtpd", "{client_addr}", "192.0.2.10",
	"{client_name}", "client.example.net"), "connect macros")
ok(mt.conninfo(conn, "client.example.net", "192.0.2.10"), "conninfo")
expect(conn, SMFIR_CONTINUE, "CONNECT")
ok(mt.helo(conn, "client.example.net"), "helo")
expect(conn, SMFIR_CONTINUE, "HELO")
ok(mt.macro(conn, SMFIC_MAIL, "i", "ENV0001", "{mail_addr}",
	"mallory@example.net"), "mail macros")
mail(conn, "<mallory@example.net>")
-- unknown recipient in a protected domain: 550 5.1.1
rcpt(conn, "<nobody@example.org>", SMFIR_REPLYCODE)
-- a members-only list, envelope sender not a member: 550 5.7.1
rcpt(conn, "<dev@lists.example.org>", SMFIR_REPLYCODE)
-- a closed list: 550 5.7.1
rcpt(conn, "<announce@lists.example.org>", SMFIR_REPLYCODE)
-- known, open list, unprotected domain: continue
rcpt(conn, "<alice@example.org>", SMFIR_CONTINUE)
rcpt(conn, "<Bob+tag@EXAMPLE.org>", SMFIR_CONTINUE)
rcpt(conn, "<chat@lists.example.org>", SMFIR_CONTINUE)
rcpt(conn, "<someone@example.net>", SMFIR_CONTINUE)
rcpt(conn, "<dev-request@lists.example.org>", SMFIR_CONTINUE)
ok(mt.header(conn, "From", "Mallory <mallory@example.net>"), "header")
ok(mt.header(conn, "Subject", "hello"), "header")
ok(mt.eoh(conn), "eoh")
expect(conn, SMFIR_CONTINUE, "EOH")
-- pushback asks for no body (SMFIP_NOBODY): miltertest then refuses
-- to send one
if not mt.test_option(conn, SMFIP_NOBODY) then
	fail("SMFIP_NOBODY not negotiated")
end
ok(mt.eom(conn), "eom")
expect(conn, SMFIR_CONTINUE, "EOM")
if mt.eom_check(conn, MT_HDRADD) then
	fail("a header was added to a message with no quarantine")
end
-- a second message on the same connection: a member may post
ok(mt.macro(conn, SMFIC_MAIL, "i", "ENV0002"), "mail macros")
mail(conn, "<carol@example.net>")
rcpt(conn, "<dev@lists.example.org>", SMFIR_CONTINUE)
ok(mt.eom(conn), "eom")
expect(conn, SMFIR_CONTINUE, "EOM")
-- the null sender to a list: 550 5.7.1
mail(conn, "<>")
rcpt(conn, "<dev@lists.example.org>", SMFIR_REPLYCODE)
ok(mt.disconnect(conn), "disconnect")
mt.echo("PASS envelope")

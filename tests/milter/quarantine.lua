-- quarantine.lua - [bounces] quarantine = unsigned-bounce: an unsigned
-- bounce is accepted and marked with X-Pushback-Reason at end of message.
dofile(lib)
local conn = open()
ok(mt.conninfo(conn, "client.example.net", "192.0.2.13"), "conninfo")
mail(conn, "<>")
rcpt(conn, "<alice@example.org>", SMFIR_CONTINUE)
ok(mt.header(conn, "From", "MAILER-DAEMON@example.net"), "header")
ok(mt.eoh(conn), "eoh")
expect(conn, SMFIR_CONTINUE, "EOH")
ok(mt.eom(conn), "eom")
expect(conn, SMFIR_CONTINUE, "EOM")
if not mt.eom_check(conn, MT_HDRADD, "X-Pushback-Reason") then
	fail("no X-Pushback-Reason header added")
end
local v = mt.getheader(conn, "X-Pushback-Reason", 0)
if v == nil or string.sub(v, 1, 16) ~= "unsigned-bounce " then
	fail("X-Pushback-Reason is '" .. tostring(v) ..
		"', want 'unsigned-bounce (...)'")
end
-- the next message on the connection carries no header
mail(conn, "<someone@example.net>")
rcpt(conn, "<alice@example.org>", SMFIR_CONTINUE)
ok(mt.eom(conn), "eom")
expect(conn, SMFIR_CONTINUE, "EOM")
if mt.eom_check(conn, MT_HDRADD) then
	fail("the quarantine header leaked into the next message")
end
ok(mt.disconnect(conn), "disconnect")
mt.echo("PASS quarantine")

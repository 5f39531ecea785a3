-- many.lua - 200 SMTP sessions in a row, each on its own connection.
dofile(lib)
for i = 1, 200 do
	local conn = open()
	ok(mt.conninfo(conn, "client.example.net", "192.0.2.14"),
		"conninfo " .. i)
	mail(conn, "<someone@example.net>")
	rcpt(conn, "<nobody@example.org>", SMFIR_REPLYCODE)
	rcpt(conn, "<alice@example.org>", SMFIR_CONTINUE)
	ok(mt.eom(conn), "eom " .. i)
	expect(conn, SMFIR_CONTINUE, "EOM " .. i)
	ok(mt.disconnect(conn), "disconnect " .. i)
end
mt.echo("PASS many")

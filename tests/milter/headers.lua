-- headers.lua - lists that judge the author (check_sender any) are
-- decided at end of headers; one such list per transaction.
dofile(lib)
local conn = open()
ok(mt.conninfo(conn, "client.example.net", "192.0.2.11"), "conninfo")
-- talk@ takes members; mallory is not one, neither envelope nor From:
ok(mt.macro(conn, SMFIC_MAIL, "i", "HDR0001"), "macros")
mail(conn, "<mallory@example.net>")
rcpt(conn, "<talk@lists.example.org>", SMFIR_CONTINUE)
-- a second list decided at end of headers: 452 4.5.3
rcpt(conn, "<news@lists.example.org>", SMFIR_REPLYCODE)
ok(mt.header(conn, "From", "Mallory <mallory@example.net>"), "header")
ok(mt.header(conn, "Reply-To", "mallory@example.net"), "header")
ok(mt.eoh(conn), "eoh")
expect(conn, SMFIR_REPLYCODE, "EOH for a non-member author")
ok(mt.abort(conn), "abort")
-- the same envelope, but the author is a member: continue
mail(conn, "<mallory@example.net>")
rcpt(conn, "<talk@lists.example.org>", SMFIR_CONTINUE)
ok(mt.header(conn, "From", "Alice <alice@example.org>"), "header")
ok(mt.eoh(conn), "eoh")
expect(conn, SMFIR_CONTINUE, "EOH for a member author")
ok(mt.eom(conn), "eom")
expect(conn, SMFIR_CONTINUE, "EOM")
ok(mt.disconnect(conn), "disconnect")
mt.echo("PASS headers")

-- abort.lua - an aborted transaction is forgotten: the next MAIL on the
-- same connection starts afresh (its own sender, its own list).
dofile(lib)
local conn = open()
ok(mt.conninfo(conn, "client.example.net", "192.0.2.12"), "conninfo")
mail(conn, "<mallory@example.net>")
rcpt(conn, "<talk@lists.example.org>", SMFIR_CONTINUE)
ok(mt.abort(conn), "abort")
-- news@ would be a second deferred list had talk@ been remembered
mail(conn, "<mallory@example.net>")
rcpt(conn, "<news@lists.example.org>", SMFIR_CONTINUE)
ok(mt.abort(conn), "abort")
-- the sender of the aborted transaction is gone: carol may post
mail(conn, "<carol@example.net>")
rcpt(conn, "<dev@lists.example.org>", SMFIR_CONTINUE)
ok(mt.abort(conn), "abort")
-- abort before any recipient, then the null sender
mail(conn, "<bot@example.com>")
ok(mt.abort(conn), "abort")
mail(conn, "<>")
rcpt(conn, "<chat@lists.example.org>", SMFIR_REPLYCODE)
ok(mt.abort(conn), "abort")
ok(mt.disconnect(conn), "disconnect")
mt.echo("PASS abort")

-- lib.lua - helpers for the miltertest scripts in this directory (loaded
-- by each with dofile(lib); miltertest.sh passes -D lib=... -D port=...
-- -D sock=...).  A failed expectation prints "FAIL: why" and raises an
-- error, so miltertest exits non-zero.

-- fail - report and stop (miltertest itself does not print a script's
-- error message).
function fail(msg)
	mt.echo("FAIL: " .. msg)
	error("FAIL: " .. msg)
end

-- open - a new connection to pushbackd's milter (inet, or spec).
function open(spec)
	local where = spec or ("inet:" .. port .. "@127.0.0.1")
	local conn = mt.connect(where, 50, 0.1)
	if conn == nil then
		fail("cannot connect to " .. where)
	end
	return conn
end

-- ok - a miltertest call returned nil (success).
function ok(r, what)
	if r ~= nil then
		fail(what .. ": " .. tostring(r))
	end
end

-- name - a reply code as its letter.
function name(r)
	if r == nil or r == 0 then
		return "(none)"
	end
	return string.char(math.floor(r))
end

-- expect - the last reply on conn is want (SMFIR_*).
function expect(conn, want, what)
	local got = mt.getreply(conn)
	if got ~= want then
		fail(string.format("%s: got reply '%s', want '%s'", what,
			name(got), name(want)))
	end
end

-- rcpt - send RCPT TO and check the answer.
function rcpt(conn, addr, want)
	ok(mt.rcptto(conn, addr), "rcptto " .. addr)
	expect(conn, want, "RCPT TO " .. addr)
end

-- mail - send MAIL FROM (always CONTINUE: pushback decides at RCPT).
function mail(conn, addr)
	ok(mt.mailfrom(conn, addr), "mailfrom " .. addr)
	expect(conn, SMFIR_CONTINUE, "MAIL FROM " .. addr)
end

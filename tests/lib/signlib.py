"""signlib - an independent SRS and BATV signer for the tests, written
from the published descriptions (Mail::SRS's Shortcut/Guarded formats,
Exim's ${prvs}), so a test can make signatures for any day: an address
signed 30 days ago, a prvs that expired yesterday.  Standard library only.

    srs0(key, addr, srs_domain, day=None, sep="=", hash_len=4)
    prvs(key, keynum, addr, expiry_day)
    today()  - days since the epoch
"""

import base64
import hashlib
import hmac
import time

BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def today():
    return int(time.time()) // 86400


def _srs_hash(key, fields, n):
    mac = hmac.new(key.encode(), digestmod=hashlib.sha1)
    for f in fields:
        mac.update(f.lower().encode())
    return base64.b64encode(mac.digest()).decode()[:n]


def srs_timestamp(day):
    return BASE32[(day >> 5) & 31] + BASE32[day & 31]


def srs0(key, addr, srs_domain, day=None, sep="=", hash_len=4):
    """SRS0 for addr as signed on day (default today)."""
    local, domain = addr.rsplit("@", 1)
    ts = srs_timestamp(today() if day is None else day)
    h = _srs_hash(key, [ts, domain, local], hash_len)
    return "SRS0%s%s=%s=%s=%s@%s" % (sep, h, ts, domain, local, srs_domain)


def prvs(key, keynum, addr, expiry_day):
    """prvs=KDDDHHHHHH=addr expiring on expiry_day (days since epoch)."""
    ddd = "%03d" % (expiry_day % 1000)
    src = "%d%s%s" % (keynum, ddd, addr)
    h = hmac.new(key.encode(), src.encode(), hashlib.sha1).hexdigest()[:6]
    return "prvs=%d%s%s=%s" % (keynum, ddd, h, addr)

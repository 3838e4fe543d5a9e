#!/usr/bin/python3
"""spf_pyspf.py - the reference side of the SPF differential test: Debian's python3-spf
(pyspf, RFC 7208) evaluates the same (ip, helo, sender) cases against the test DNS server.

Runs under /usr/bin/python3 (pyenv's python does not see python3-spf / python3-dns). Reads
JSON from stdin: {"port": N, "receiver": NAME, "timeout": SECONDS, "cases": [{"ip", "helo",
"sender"}]} and prints a JSON list of [result, explanation] in the same order.
pyspf resolves through dnspython when python3-dnspython is installed (python3-dkim pulls it
in) and through pydns (python3-dns) otherwise, and the two backends map SERVFAIL and timeouts
differently; the test's documented differences are pyspf-on-pydns's. So dnspython is hidden
from pyspf's import here, making the reference the same on every machine. pydns takes its
servers from DNS.defaults (`import DNS` fills them from /etc/resolv.conf, which points off the
machine), so this script overwrites defaults["server"] and defaults["port"] after the imports
and before any lookup: nothing leaves 127.0.0.1.
Owner: e2e tests of issue 11 (SPF).
"""

import json
import sys

sys.modules["dns"] = None            # ImportError for dnspython: pyspf falls back to pydns
sys.modules["dns.resolver"] = None
import DNS  # noqa: E402
import spf  # noqa: E402


def main():
    req = json.load(sys.stdin)
    DNS.defaults["server"] = ["127.0.0.1"]
    DNS.defaults["port"] = int(req["port"])
    DNS.defaults["server_rotate"] = 0
    assert spf.DNSLookup is spf.DNSLookup_pydns, "pyspf must resolve through pydns here"
    out = []
    for c in req["cases"]:
        q = spf.query(c["ip"], c["sender"], c["helo"], receiver=req["receiver"],
                      timeout=float(req.get("timeout", 2)))
        result, _code, explanation = q.check()
        out.append([result, explanation])
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()

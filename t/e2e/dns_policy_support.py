"""dns_policy_support.py - what the DNS policy plugin tests share (test_dnsbl.py, test_fcrdns_helo.py,
test_dns_sender.py).

PolicyTestCase.start(zones, plugins, files) starts a DnsServer (dns_support.py) with the zones
(the SOA lines below are prepended, so negative answers are cached as RFC 2308 says), and a
daemon whose dns.servers is that server and which has a second listener speaking the PROXY
protocol with 127.0.0.1 trusted: connect_as(ip) reaches the daemon as client `ip` (192.0.2.7,
an address outside loopback), which is how these tests present listed, unlisted and "outside"
clients. Nothing leaves 127.0.0.1. Owner: tooling (t/e2e/).
"""

import re
import time

import dns_support
from harness import Client, E2ETestCase
from tls_support import raw_connect, start_with_listeners

SOAS = """$TTL 60
bl.test.      60 IN SOA ns.test. h.test. 1 60 60 60 30
bl2.test.     60 IN SOA ns.test. h.test. 1 60 60 60 30
dbl.test.     60 IN SOA ns.test. h.test. 1 60 60 60 30
e2e.test.     60 IN SOA ns.test. h.test. 1 60 60 60 30
sender.test.  60 IN SOA ns.test. h.test. 1 60 60 60 30
helo.test.    60 IN SOA ns.test. h.test. 1 60 60 60 30
2.0.192.in-addr.arpa. 60 IN SOA ns.test. h.test. 1 60 60 60 30
"""


def body(subject):
    return f"Subject: {subject}\r\n\r\nx\r\n".encode()


class PolicyTestCase(E2ETestCase):

    def start(self, zones, plugins, files=None, settings=None):
        self.dns = dns_support.DnsServer(SOAS + zones).start()
        self.addCleanup(self.dns.stop)
        base = {"dns": {"servers": [self.dns.address], "timeout": 2, "attempts": 1},
                "trusted_proxies": ["127.0.0.1/32"], "timeouts": {"proxy": 2}}
        base.update(settings or {})
        d, [pport] = start_with_listeners(self, [{"proxy_protocol": True}], plugins=plugins,
                                          files=files, settings=base)
        self.proxy_port = pport
        return d

    def connect_as(self, ip, code=220):
        s = raw_connect(self.proxy_port)
        fam = "TCP6" if ":" in ip else "TCP4"
        dst = "::1" if ":" in ip else "127.0.0.1"
        s.sendall(f"PROXY {fam} {ip} {dst} 40000 25\r\n".encode())
        c = Client.from_socket(s, self.proxy_port)
        self.addCleanup(c.close)
        c.expect(code)
        return c

    def send_message(self, c, sender="<s@example.test>", rcpt="<a@example.test>", subject="t"):
        c.cmd(f"MAIL FROM:{sender}", 250)
        c.cmd(f"RCPT TO:{rcpt}", 250)
        c.cmd("DATA", 354)
        c.send(body(subject) + b".\r\n")
        c.expect(250)

    @staticmethod
    def text_of(reply):
        """The reply's text, lines joined by newlines, without the enhanced status codes."""
        return "\n".join(re.sub(r"^[245]\.\d{1,3}\.\d{1,3} ", "", line) for line in reply.lines)

    def timed(self, fn):
        t0 = time.monotonic()
        out = fn()
        return out, time.monotonic() - t0

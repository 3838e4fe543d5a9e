"""spf_support.py - what the SPF end-to-end tests share: the zones, a daemon running
sender_permitted_from behind a PROXY-protocol listener (so a case can come from any client
address, IPv4 or IPv6), and one SMTP transaction per case that returns the reply to MAIL and
the Received-SPF field of the delivered message.

The zones live under spf.test (and in-addr.arpa / ip6.arpa for the ptr cases) on the test
DNS server (dns_support.DnsServer); nothing is asked of any other server.
Owner: e2e tests of issue 11 (SPF).
"""

import re

from dns_support import DnsServer
from harness import Client
from tls_support import start_with_listeners

RECEIVER = "mx.e2e.test"
RCPT = "someone@example.test"

ZONES = r"""
$TTL 60
$ORIGIN spf.test.
@          IN SOA ns.spf.test. hostmaster.spf.test. 1 60 60 60 30
pass       IN TXT "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all"
loop       IN TXT "v=spf1 ip4:127.0.0.0/8 ip6:::1 -all"
fail       IN TXT "v=spf1 -all"
soft       IN TXT "v=spf1 ~all"
neutral    IN TXT "v=spf1 ?all"
empty      IN TXT "v=spf1"
two        IN TXT "v=spf1 +all"
two        IN TXT "v=spf1 -all"
other      IN TXT "google-site-verification=abc"
other      IN TXT "v=spf10 +all"
syntax     IN TXT "v=spf1 ip4:192.0.2.0/24 moo -all"
badcidr    IN TXT "v=spf1 ip4:192.0.2.0/33 -all"
split      IN TXT "v=spf1 ip4:192.0.2.0/24 " "ip4:198.51.100.0/24 -all"
a          IN TXT "v=spf1 a -all"
a          IN A 192.0.2.10
a          IN AAAA 2001:db8::10
acidr      IN TXT "v=spf1 a:a.spf.test/28//64 -all"
mx         IN TXT "v=spf1 mx -all"
mx         IN MX 10 mx1.spf.test.
mx         IN MX 20 mx2.spf.test.
mx1        IN A 198.51.100.1
mx2        IN A 198.51.100.2
incl       IN TXT "v=spf1 include:pass.spf.test ~all"
inclfail   IN TXT "v=spf1 include:fail.spf.test ?all"
inclnone   IN TXT "v=spf1 include:nothing.spf.test ~all"
inclsyntax IN TXT "v=spf1 include:syntax.spf.test ~all"
redir      IN TXT "v=spf1 redirect=pass.spf.test"
redirnone  IN TXT "v=spf1 redirect=nothing.spf.test"
redirmac   IN TXT "v=spf1 redirect=_spf.%{d}"
_spf.redirmac IN TXT "v=spf1 ip4:203.0.113.0/24 -all"
exists     IN TXT "v=spf1 exists:%{ir}.%{v}.list.spf.test -all"
1.2.0.192.in-addr.list IN A 127.0.0.2
macro      IN TXT "v=spf1 exists:%{l}.%{o}.users.spf.test ~all"
alice.macro.spf.test.users IN A 127.0.0.2
ptr        IN TXT "v=spf1 ptr -all"
host.ptr   IN A 192.0.2.77
mail       IN TXT "v=spf1 a -all"
mail       IN A 192.0.2.25
toomany    IN TXT "v=spf1 a:h1.spf.test a:h2.spf.test a:h3.spf.test a:h4.spf.test a:h5.spf.test a:h6.spf.test a:h7.spf.test a:h8.spf.test a:h9.spf.test a:h10.spf.test a:h11.spf.test -all"
ten        IN TXT "v=spf1 a:h1.spf.test a:h2.spf.test a:h3.spf.test a:h4.spf.test a:h5.spf.test a:h6.spf.test a:h7.spf.test a:h8.spf.test a:h9.spf.test a:h10.spf.test -all"
h1         IN A 203.0.113.1
h2         IN A 203.0.113.2
h3         IN A 203.0.113.3
h4         IN A 203.0.113.4
h5         IN A 203.0.113.5
h6         IN A 203.0.113.6
h7         IN A 203.0.113.7
h8         IN A 203.0.113.8
h9         IN A 203.0.113.9
h10        IN A 203.0.113.10
h11        IN A 203.0.113.11
redircount IN TXT "v=spf1 a:h1.spf.test a:h2.spf.test a:h3.spf.test a:h4.spf.test a:h5.spf.test a:h6.spf.test a:h7.spf.test a:h8.spf.test a:h9.spf.test a:h10.spf.test redirect=pass.spf.test"
voids2     IN TXT "v=spf1 a:nx1.spf.test a:nx2.spf.test ip4:192.0.2.0/24 -all"
voids3     IN TXT "v=spf1 a:nx1.spf.test a:nx2.spf.test a:nx3.spf.test ip4:192.0.2.0/24 -all"
exp        IN TXT "v=spf1 -all exp=explain.spf.test"
explain    IN TXT "%{i} may not send for %{d}"
servfail   IN TXT "v=spf1 a:broken.spf.test ip4:192.0.2.0/24 -all"
!servfail broken.spf.test
!servfail tempfail.spf.test
$ORIGIN in-addr.arpa.
@          IN SOA ns.spf.test. hostmaster.spf.test. 1 60 60 60 30
77.2.0.192 IN PTR host.ptr.spf.test.
78.2.0.192 IN PTR host.ptr.spf.test.
$ORIGIN ip6.arpa.
@          IN SOA ns.spf.test. hostmaster.spf.test. 1 60 60 60 30
"""


def start_spf_daemon(test, reject, dns, extra_plugins=(), files=None, settings=None):
    """asmtpd with `sender_permitted_from reject N` and a trusted PROXY listener; returns
    (daemon, proxy_port)."""
    plugins = list(extra_plugins) + [f"sender_permitted_from reject {reject}", "rcpt_ok",
                                     "queue/maildir {maildir}"]
    base = {"trusted_proxies": ["127.0.0.1/32"], "hostname": RECEIVER,
            "dns": {"servers": [dns.address], "timeout": 1, "attempts": 1}}
    base.update(settings or {})
    d, ports = start_with_listeners(test, [{"proxy_protocol": True}], plugins=plugins, files=files,
                                    settings=base)
    return d, ports[0]


def proxied(port, ip, helo):
    """A session that reached the daemon from `ip` (PROXY v1), greeted and EHLO'd."""
    c = Client(port, greet=False)
    if ":" in ip:
        c.send(f"PROXY TCP6 {ip} ::1 40000 25\r\n".encode())
    else:
        c.send(f"PROXY TCP4 {ip} 127.0.0.1 40000 25\r\n".encode())
    c.expect(220)
    c.cmd(f"EHLO {helo}", 250)
    return c


RECEIVED_SPF = re.compile(rb"^Received-SPF: (.*(?:\r?\n[ \t].*)*)", re.M | re.I)


def received_spf(daemon, before):
    """The Received-SPF value of the one message delivered since `before` (a set of names)."""
    new = [p for p in daemon.maildir.new_files() if p.name not in before]
    assert len(new) == 1, f"expected one new message, got {len(new)}"
    m = RECEIVED_SPF.search(new[0].read_bytes())
    return re.sub(r"\s*\r?\n[ \t]+", " ", m.group(1).decode()).rstrip() if m else None


def run_case(daemon, port, ip, helo, sender):
    """MAIL FROM:<sender> from ip/helo. Returns (mail reply, Received-SPF value or None when
    MAIL was refused)."""
    c = proxied(port, ip, helo)
    try:
        before = {p.name for p in daemon.maildir.new_files()}
        c.send(f"MAIL FROM:<{sender}>\r\n".encode())
        reply = c.read_reply(timeout=15)
        if reply.code != 250:
            return reply, None
        c.cmd(f"RCPT TO:<{RCPT}>", 250)
        c.cmd("DATA", 354)
        c.send(b"Subject: spf\r\n\r\nbody\r\n.\r\n")
        c.expect(250, timeout=15)
        return reply, received_spf(daemon, before)
    finally:
        c.close()


def zone_server(test, zones=ZONES):
    s = DnsServer(zones).start()
    test.addCleanup(s.cleanup)
    return s

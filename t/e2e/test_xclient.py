"""test_xclient.py - XCLIENT (Postfix's) for peers in trusted_proxies: the session starts
over as the named client (connect hooks, relay decision, tcp.env, greeting, Received); others
are refused and are not offered it.

Owner: tooling (t/e2e/).
"""

import socket

from harness import E2ETestCase, Client

PLUGINS = ["relay", "rcpt_ok", "queue/maildir {maildir}"]
FILES = {"relayclients": "127.0.0.1\n"}
TRUSTED = {"trusted_proxies": ["127.0.0.1/32"]}


def client_from(d, source_ip):
    s = socket.create_connection(("127.0.0.1", d.port), source_address=(source_ip, 0), timeout=10)
    return Client.from_socket(s, d.port, greet=True)


class XclientTest(E2ETestCase):

    def test_the_session_starts_over_as_the_named_client(self):
        d = self.start_daemon(plugins=PLUGINS, files=FILES, settings=TRUSTED)
        c = self.client(d)
        r = c.ehlo()
        self.assertIn(b"XCLIENT NAME ADDR PORT PROTO HELO LOGIN DESTADDR DESTPORT", r.raw)
        # The proxy itself is a relay client ...
        c.cmd("MAIL FROM:<a@example.test>", 250)
        c.cmd("RCPT TO:<x@elsewhere.test>", 250)
        c.cmd("RSET", 250)
        # ... the client it names is not.
        r = c.cmd("XCLIENT ADDR=192.0.2.7 PORT=4711 NAME=mail.example.org HELO=mail.example.org", 220)
        self.assertIn(b"mx.e2e.test", r.raw)
        c.ehlo()
        c.cmd("MAIL FROM:<a@example.org>", 250)
        c.cmd("RCPT TO:<x@elsewhere.test>", 550)
        c.cmd("RCPT TO:<b@example.test>", 250)
        c.cmd("DATA", 354)
        c.send(b"Subject: via xclient\r\n\r\nhi\r\n.\r\n")
        c.expect(250)
        msg = d.maildir.messages()[0]
        self.assertIn("mail.example.org", msg.received)
        self.assertIn("192.0.2.7", msg.received)
        self.assertNotIn("127.0.0.1", msg.received)
        self.assertIn("XCLIENT: client 192.0.2.7:4711 name mail.example.org (via 127.0.0.1)", d.stderr_text())

    def test_untrusted_peers_are_refused_and_not_offered(self):
        d = self.start_daemon(plugins=PLUGINS, files=FILES, settings=TRUSTED)
        c = client_from(d, "127.0.0.2")
        r = c.ehlo()
        self.assertNotIn(b"XCLIENT", r.raw)
        c.cmd("XCLIENT ADDR=127.0.0.1", 550, "5.7.0")
        # Nothing changed: still an ordinary, non-relay client.
        c.cmd("MAIL FROM:<a@example.org>", 250)
        c.cmd("RCPT TO:<x@elsewhere.test>", 550)
        plain = self.start_daemon(plugins=PLUGINS, files=FILES)   # no trusted_proxies at all
        p = self.client(plain)
        self.assertNotIn(b"XCLIENT", p.ehlo().raw)
        p.cmd("XCLIENT ADDR=192.0.2.7", 550, "5.7.0")

    def test_bad_attributes_and_transactions(self):
        d = self.start_daemon(plugins=PLUGINS, files=FILES, settings=TRUSTED)
        c = self.client(d)
        c.ehlo()
        r = c.cmd("XCLIENT ADDR=999.1.2.3", 501, "5.5.4")
        self.assertIn(b"ADDR: not an IP address", r.raw)
        c.cmd("XCLIENT COLOR=blue", 501, "5.5.4")
        c.cmd("MAIL FROM:<a@example.test>", 250)
        c.cmd("XCLIENT ADDR=192.0.2.7", 503, "5.5.1")

    def test_tcp_env_and_login_apply_to_the_named_client(self):
        d = self.start_daemon(plugins=PLUGINS, files=dict(FILES, **{"tcp.env": "192.0.2.66:deny\n:allow\n"}),
                              settings=TRUSTED)
        c = self.client(d)
        c.ehlo()
        c.cmd("XCLIENT ADDR=192.0.2.66", 554, "5.7.1")
        self.assertClosed(c)
        c = self.client(d)
        c.ehlo()
        c.cmd("XCLIENT ADDR=192.0.2.8 LOGIN=alice NAME=[UNAVAILABLE]", 220)
        c.ehlo()
        c.cmd("MAIL FROM:<alice@example.test>", 250)
        c.cmd("RCPT TO:<x@elsewhere.test>", 250)   # an authenticated user may relay

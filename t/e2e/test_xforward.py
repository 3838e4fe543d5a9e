"""test_xforward.py - XFORWARD (Postfix's) for peers in trusted_proxies: for the next
transaction only, plugins (spp's TCPREMOTEIP, TCPREMOTEHOST, TCPREMOTEPORT) and the Received
header see the forwarded client; the session is not started over (no new greeting, the relay
decision stays). Untrusted peers are refused and are not offered it; bad attributes get 501,
XFORWARD inside a transaction 503.

Owner: tooling (t/e2e/).
"""

import socket

from harness import REPO, E2ETestCase, Client

RECORD = REPO / "t" / "fixtures" / "spp" / "record.py"
PLUGINS = ["relay", "spp timeout 3", "rcpt_ok", "queue/maildir {maildir}"]
FILES = {
    "relayclients": "127.0.0.1\n",
    "smtpplugins": f"[mail]\n:{RECORD} {{tmp}}/spp.log MAIL TCPREMOTEIP TCPREMOTEHOST TCPREMOTEPORT\n",
}
TRUSTED = {"trusted_proxies": ["127.0.0.1/32"]}


def client_from(d, source_ip):
    s = socket.create_connection(("127.0.0.1", d.port), source_address=(source_ip, 0), timeout=10)
    return Client.from_socket(s, d.port, greet=True)


def send_message(c, subject):
    c.cmd("MAIL FROM:<a@example.org>", 250)
    c.cmd("RCPT TO:<x@elsewhere.test>", 250)   # the proxy relays: XFORWARD does not change that
    c.cmd("DATA", 354)
    c.send(f"Subject: {subject}\r\n\r\nhi\r\n.\r\n".encode())
    c.expect(250)


class XforwardTest(E2ETestCase):

    def test_plugins_and_received_see_the_forwarded_client_for_one_transaction(self):
        d = self.start_daemon(plugins=PLUGINS, files=FILES, settings=TRUSTED)
        c = self.client(d)
        r = c.ehlo()
        self.assertIn(b"XFORWARD NAME ADDR PROTO HELO SOURCE PORT IDENT\r\n", r.raw)
        # Postfix sends the attributes in pieces; they add up.
        c.cmd("XFORWARD NAME=mail.example.org ADDR=192.0.2.7 PORT=4711", 250, "2.0.0")
        c.cmd("XFORWARD PROTO=SMTP HELO=client+2Eexample.org IDENT=4XyZ1 SOURCE=REMOTE", 250, "2.0.0")
        send_message(c, "forwarded")
        send_message(c, "own")   # the next transaction: the proxy itself again
        c.cmd("QUIT", 221)

        lines = (d.tmp / "spp.log").read_text().splitlines()
        self.assertEqual(len(lines), 2, lines)
        self.assertIn("TCPREMOTEIP='192.0.2.7' TCPREMOTEHOST='mail.example.org' TCPREMOTEPORT='4711'", lines[0])
        self.assertIn("TCPREMOTEIP='127.0.0.1'", lines[1])
        self.assertNotIn("mail.example.org", lines[1])
        first, second = d.maildir.messages()
        self.assertIn("from client.example.org (mail.example.org [192.0.2.7])", first.received)
        self.assertIn("with SMTP id", first.received)
        self.assertNotIn("127.0.0.1", first.received)
        self.assertIn("[127.0.0.1]", second.received)
        self.assertIn("with ESMTP id", second.received)
        self.assertNotIn("192.0.2.7", second.received)
        self.assertIn("XFORWARD: client 192.0.2.7:4711 name mail.example.org helo client.example.org proto SMTP "
                      "ident 4XyZ1 source REMOTE (via 127.0.0.1)", d.stderr_text())

    def test_untrusted_peers_bad_attributes_and_transactions(self):
        d = self.start_daemon(plugins=PLUGINS, files=FILES, settings=TRUSTED)
        u = client_from(d, "127.0.0.2")
        self.addCleanup(u.close)
        self.assertNotIn(b"XFORWARD", u.ehlo().raw)
        u.cmd("XFORWARD ADDR=192.0.2.7 NAME=mail.example.org", 550, "5.7.0")
        u.cmd("MAIL FROM:<a@example.org>", 250)
        u.cmd("RCPT TO:<b@example.test>", 250)
        u.cmd("DATA", 354)
        u.send(b"Subject: untrusted\r\n\r\nhi\r\n.\r\n")
        u.expect(250)
        msg = d.maildir.messages()[0]
        self.assertIn("[127.0.0.2]", msg.received)
        self.assertNotIn("192.0.2.7", msg.received)

        c = self.client(d)
        c.ehlo()
        self.assertIn(b"ADDR: not an IP address", c.cmd("XFORWARD ADDR=999.1.2.3", 501, "5.5.4").raw)
        self.assertIn(b"unknown attribute LOGIN", c.cmd("XFORWARD LOGIN=alice", 501, "5.5.4").raw)
        c.cmd("XFORWARD", 501, "5.5.4")
        c.cmd("MAIL FROM:<a@example.test>", 250)
        c.cmd("XFORWARD ADDR=192.0.2.7", 503, "5.5.1")

"""test_dns_client_name.py - the client's reverse name (FCrDNS) against a real DNS server.

Each test starts t/e2e/dns_server.py on loopback with the zones it needs and points the
daemon's dns.servers at it. The oracle: the Received header names the client by its
forward-confirmed PTR name, or "unknown" (as Postfix writes it) when the PTR is missing, does not
confirm, or the DNS answers too late; the greeting never waits for DNS; the lookup is made once
per client address while the answer is cached. Owner: DNS (core/io/resolver, core/smtp/client_name).
"""

import time

from dns_support import DnsServer
from harness import E2ETestCase

REVERSE = "1.0.0.127.in-addr.arpa."


def zones(extra=""):
    return f"""$TTL 300
$ORIGIN e2e.test.
@        3600 SOA ns hostmaster 1 3600 600 86400 60
client        A 127.0.0.1
other         A 192.0.2.1
$ORIGIN in-addr.arpa.
127      3600 SOA ns.e2e.test. hostmaster.e2e.test. 1 3600 600 86400 60
""" + extra


class ClientNameTest(E2ETestCase):
    def start_dns(self, text):
        dns = DnsServer(text).start()
        self.addCleanup(dns.cleanup)
        return dns

    def daemon(self, dns, timeout=5):
        return self.start_daemon(settings={"dns": {"servers": [dns.address], "timeout": timeout, "attempts": 1}})

    def deliver_one(self, d):
        c = self.client(d)
        c.ehlo()
        self.assertEqual(c.send_mail().code, 250)
        c.cmd("QUIT", 221)
        return d.maildir.messages()[-1]

    def test_confirmed_name_in_received_and_log(self):
        dns = self.start_dns(zones(f"{REVERSE} PTR client.e2e.test.\n"))
        d = self.daemon(dns)
        m = self.deliver_one(d)
        self.assertIn("(client.e2e.test [127.0.0.1])", m.received)
        self.assertTrue(d.wait_for_log(r"client name: client\.e2e\.test \(confirmed, PTR client\.e2e\.test\)"))
        # The PTR and the A answer are cached: further sessions ask nothing more.
        before = dns.queries()
        self.deliver_one(d)
        self.deliver_one(d)
        self.assertEqual(dns.queries(), before)
        self.assertEqual(dns.queries(REVERSE, "PTR"), 1)

    def test_unconfirmed_and_missing_ptr_give_unknown(self):
        for extra, word in ((f"{REVERSE} PTR other.e2e.test.\n", "unconfirmed"), ("", "no PTR")):
            with self.subTest(word=word):
                dns = self.start_dns(zones(extra))
                d = self.daemon(dns)
                m = self.deliver_one(d)
                self.assertIn("(unknown [127.0.0.1])", m.received)
                self.assertTrue(d.wait_for_log(r"client name: unknown \(" + word))
                self.assertGreaterEqual(dns.queries(REVERSE, "PTR"), 1)

    def test_slow_dns_never_delays_the_greeting_and_is_bounded_at_data(self):
        dns = self.start_dns(zones(f"{REVERSE} PTR client.e2e.test.\n!delay {REVERSE} 4\n"))
        d = self.daemon(dns, timeout=1)
        t0 = time.monotonic()
        c = self.client(d)   # reads the 220
        self.assertLess(time.monotonic() - t0, 0.5)
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.test>", 250)
        c.cmd("RCPT TO:<a@example.test>", 250)
        c.cmd("DATA", 354)
        c.send(b"Subject: t\r\n\r\nhi\r\n.\r\n")
        # The lookup started at connect; the dot waits for what is left of its 1 s deadline.
        self.assertEqual(c.read_reply(timeout=4).code, 250)
        self.assertLess(time.monotonic() - t0, 2.5)
        self.assertIn("(unknown [127.0.0.1])", d.maildir.messages()[-1].received)
        self.assertTrue(d.wait_for_log(r"client name: unknown \(temperror"))

    def test_dead_dns_server_gives_unknown(self):
        dns = self.start_dns(zones(f"!drop {REVERSE}\n"))
        d = self.daemon(dns, timeout=1)
        t0 = time.monotonic()
        m = self.deliver_one(d)
        self.assertLess(time.monotonic() - t0, 3.0)
        self.assertIn("(unknown [127.0.0.1])", m.received)

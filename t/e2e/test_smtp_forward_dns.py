"""test_smtp_forward_dns.py - queue/smtp_forward with a host name and in "mx" mode, against the
loopback DNS server (dns_support.py) and smtp-sink peers on 127.0.0.x.

MX targets are 127.0.0.2-127.0.0.6; every peer listens on one port P, which the plugin gets as
`port P` (MX delivery is to port 25 otherwise). The oracle: 250 only when every recipient
domain's next hop holds the message; a DNS failure gives 451 4.4.3 and sends nothing; a null MX
gives 556 5.1.10; a next hop greeting with our own host name gives 451 4.4.6. Owner: next-hop
hand-off (queue/smtp_forward).
"""

import time
import unittest

import dns_support
from harness import E2ETestCase, free_port
from test_smtp_forward import SmtpSink

ZONES = """$TTL 60
fwd.test.            60 IN SOA ns.fwd.test. h.fwd.test. 1 60 60 60 30
relay.fwd.test.      60 IN A   127.0.0.9
relay.fwd.test.      60 IN A   127.0.0.2
noaddr.fwd.test.     60 IN TXT "no address here"
pref.fwd.test.       60 IN MX  20 up.fwd.test.
pref.fwd.test.       60 IN MX  10 down.fwd.test.
pref.fwd.test.       60 IN MX  30 spare.fwd.test.
down.fwd.test.       60 IN A   127.0.0.2
up.fwd.test.         60 IN A   127.0.0.3
spare.fwd.test.      60 IN A   127.0.0.6
implicit.fwd.test.   60 IN A   127.0.0.4
nullmx.fwd.test.     60 IN MX  0 .
picky.fwd.test.      60 IN MX  10 picky-mx.fwd.test.
picky-mx.fwd.test.   60 IN A   127.0.0.6
loop.fwd.test.       60 IN MX  10 me.fwd.test.
me.fwd.test.         60 IN A   127.0.0.5
!servfail broken.fwd.test
!drop slow.fwd.test
"""

DOMAINS = ["example.test", "pref.fwd.test", "implicit.fwd.test", "nullmx.fwd.test", "picky.fwd.test",
           "loop.fwd.test", "broken.fwd.test", "slow.fwd.test", "ghost.fwd.test"]

BODY = b"Subject: routed\r\n\r\nby DNS\r\n"


class SmtpForwardDnsTest(E2ETestCase):

    def setUp(self):
        super().setUp()
        self.dns = dns_support.DnsServer(ZONES).start()
        self.addCleanup(self.dns.cleanup)
        self.port = free_port()

    def sink(self, host, *options):
        s = SmtpSink(*options, port=self.port, host=host)
        self.addCleanup(s.stop)
        return s

    def daemon(self, *args):
        return self.start_daemon(
            plugins=["rcpt_ok", " ".join(["queue/smtp_forward"] + [str(a) for a in args])],
            files={"rcpthosts": "\n".join(DOMAINS) + "\n"},
            settings={"dns": {"servers": [self.dns.address], "timeout": 2, "attempts": 1}})

    def send(self, d, rcpts):
        c = self.client(d)
        c.ehlo()
        r = c.send_mail(rcpts=rcpts, body=BODY)
        c.cmd("QUIT", 221)
        return r

    def rcpts_at(self, sink):
        return [rcpts for _, rcpts, _ in sink.dumps()]

    # ------------------------------------------------------------------ a host name

    def test_host_name_next_hop_tries_its_addresses_in_order(self):
        sink = self.sink("127.0.0.2")
        d = self.daemon(f"relay.fwd.test:{self.port}")
        r = self.send(d, ["a@example.test"])
        self.assertEqual(r.code, 250, r.raw)
        self.assertEqual(self.rcpts_at(sink), [["<a@example.test>"]])
        log = d.stderr_text()
        self.assertIn(f"127.0.0.9:{self.port} failed", log)        # refused: on to the next address
        self.assertIn(f"handed to 127.0.0.2:{self.port}", log)
        # A second message: the answer comes from the resolver's cache.
        before = self.dns.queries("relay.fwd.test", "A")
        self.assertEqual(self.send(d, ["b@example.test"]).code, 250)
        self.assertEqual(self.dns.queries("relay.fwd.test", "A"), before)

    def test_host_name_without_address_is_451(self):
        for hop in ("noaddr.fwd.test", "ghost.fwd.test", "broken.fwd.test"):
            with self.subTest(hop=hop):
                d = self.daemon(f"{hop}:{self.port}")
                r = self.send(d, ["a@example.test"])
                self.assertEqual((r.code, r.esc), (451, "4.4.3"), r.raw)
                self.assertNotIn("fwd.test", r.text)    # the relay's name is internal
                d.stop()

    # ------------------------------------------------------------------ mx

    def test_mx_preference_order_with_the_first_host_down(self):
        up, spare = self.sink("127.0.0.3"), self.sink("127.0.0.6")
        d = self.daemon("mx", "port", self.port)
        r = self.send(d, ["a@pref.fwd.test", "b@pref.fwd.test"])
        self.assertEqual(r.code, 250, r.raw)
        self.assertEqual(self.rcpts_at(up), [["<a@pref.fwd.test>", "<b@pref.fwd.test>"]])
        self.assertEqual(spare.dumps(), [])                  # preference 30 was never needed
        log = d.stderr_text()
        self.assertLess(log.index(f"127.0.0.2:{self.port} failed"), log.index(f"handed to 127.0.0.3:{self.port}"))

    def test_implicit_mx(self):
        sink = self.sink("127.0.0.4")
        d = self.daemon("mx", "port", self.port)
        r = self.send(d, ["a@implicit.fwd.test"])
        self.assertEqual(r.code, 250, r.raw)
        self.assertEqual(self.rcpts_at(sink), [["<a@implicit.fwd.test>"]])

    def test_null_mx_no_route_and_dns_failures(self):
        sink = self.sink("127.0.0.4")
        d = self.daemon("mx", "port", self.port, "dns_timeout", "1")
        for rcpt, code, esc, text in (
                ("a@nullmx.fwd.test", 556, "5.1.10", "Recipient domain nullmx.fwd.test does not accept mail (null MX)"),
                ("a@ghost.fwd.test", 550, "5.4.4", "Unable to route mail to ghost.fwd.test"),
                ("a@broken.fwd.test", 451, "4.4.3", "Temporary failure in DNS lookup of broken.fwd.test"),
                ("a@slow.fwd.test", 451, "4.4.3", "Temporary failure in DNS lookup of slow.fwd.test")):
            with self.subTest(rcpt=rcpt):
                t0 = time.monotonic()
                r = self.send(d, [rcpt])
                self.assertEqual((r.code, r.esc), (code, esc), r.raw)
                self.assertIn(text, r.text)
                self.assertLess(time.monotonic() - t0, 3.0, "dns_timeout 1 bounds the wait")
        # A domain without a route stops the whole message before anyone gets a copy.
        r = self.send(d, ["a@implicit.fwd.test", "b@nullmx.fwd.test"])
        self.assertEqual((r.code, r.esc), (556, "5.1.10"), r.raw)
        r = self.send(d, ["a@implicit.fwd.test", "b@broken.fwd.test"])
        self.assertEqual((r.code, r.esc), (451, "4.4.3"), r.raw)
        self.assertEqual(sink.dumps(), [])

    def test_two_domains_in_one_message(self):
        up, implicit = self.sink("127.0.0.3"), self.sink("127.0.0.4")
        d = self.daemon("mx", "port", self.port)
        r = self.send(d, ["a@pref.fwd.test", "b@implicit.fwd.test", "c@pref.fwd.test"])
        self.assertEqual(r.code, 250, r.raw)
        self.assertIn("2 recipient domains", r.text)
        self.assertEqual(self.rcpts_at(up), [["<a@pref.fwd.test>", "<c@pref.fwd.test>"]])
        self.assertEqual(self.rcpts_at(implicit), [["<b@implicit.fwd.test>"]])

    def test_second_domain_refusing_gives_451_never_5xx(self):
        implicit, picky = self.sink("127.0.0.4"), self.sink("127.0.0.6", "-f", "RCPT")
        d = self.daemon("mx", "port", self.port)
        # The first domain took it: a 5xx now would bounce a delivered recipient.
        r = self.send(d, ["a@implicit.fwd.test", "b@picky.fwd.test"])
        self.assertEqual((r.code, r.esc), (451, "4.3.0"), r.raw)
        self.assertEqual(len(implicit.dumps()), 1)
        self.assertIn("give it a duplicate", d.stderr_text())
        # Refused first, nothing delivered: the refusal is passed on as it is.
        r = self.send(d, ["b@picky.fwd.test", "a@implicit.fwd.test"])
        self.assertEqual(r.code, 500, r.raw)
        self.assertEqual(len(implicit.dumps()), 1)
        self.assertEqual(picky.dumps(), [])

    def test_mail_looping_back_to_me(self):
        me = self.sink("127.0.0.5", "-h", "mx.e2e.test")
        d = self.daemon("mx", "port", self.port)
        r = self.send(d, ["a@loop.fwd.test"])
        self.assertEqual((r.code, r.esc), (451, "4.4.6"), r.raw)
        self.assertIn("loops back to me", r.text)
        self.assertEqual(me.dumps(), [])


if __name__ == "__main__":
    unittest.main()

"""test_fcrdns_helo.py - the fcrdns and helo plugins against a DNS server on loopback.

Clients reach the daemon through its PROXY listener as 192.0.2.x (dns_policy_support.py):
.7 has a forward-confirmed PTR, .8 a PTR whose name points elsewhere, .9 no PTR, .10 a PTR
lookup that fails. Owner: tooling (t/e2e/).
"""

import unittest

from dns_policy_support import PolicyTestCase

ZONES = """
7.2.0.192.in-addr.arpa. 60 IN PTR good.e2e.test.
good.e2e.test.          60 IN A   192.0.2.7
8.2.0.192.in-addr.arpa. 60 IN PTR liar.e2e.test.
liar.e2e.test.          60 IN A   192.0.2.99
far.helo.test.          60 IN A   198.51.100.1
noaddr.e2e.test.        60 IN TXT "no address"
!servfail 10.2.0.192.in-addr.arpa
!servfail broken.e2e.test
!drop 12.2.0.192.in-addr.arpa
!drop silent.e2e.test
"""

TAIL = ["rcpt_ok", "queue/maildir {maildir}"]


class FcrdnsTest(PolicyTestCase):

    def test_confirmed_name_reaches_received_and_iprev_note(self):
        d = self.start(ZONES, ["fcrdns"] + TAIL)
        c = self.connect_as("192.0.2.7")
        c.ehlo()
        self.send_message(c)
        [m] = self.assertDelivered(d, 1)
        self.assertIn("good.e2e.test", m.received)
        self.assertIn("fcrdns: iprev pass good.e2e.test", d.stderr_text())

    def test_default_reject_0_notes_and_accepts(self):
        d = self.start(ZONES, ["fcrdns"] + TAIL)
        for ip in ("192.0.2.8", "192.0.2.9", "192.0.2.10"):
            c = self.connect_as(ip)
            c.ehlo()
            self.send_message(c)
        [m, *_] = self.assertDelivered(d, 3)
        self.assertIn("(unknown [192.0.2.8])", m.received)   # as Postfix writes it
        log = d.stderr_text()
        self.assertIn("fcrdns: iprev fail liar.e2e.test", log)
        self.assertIn("fcrdns: iprev permerror", log)
        self.assertIn("fcrdns: iprev temperror", log)

    def test_reject_1_refuses_at_connect_but_not_on_dns_failure(self):
        self.start(ZONES, ["relay", "fcrdns reject 1 reject_type perm"] + TAIL,
                   files={"relayclients": "192.0.2.11\n"})
        c = self.connect_as("192.0.2.9", code=554)
        self.assertClosed(c)
        c = self.connect_as("192.0.2.8", code=554)
        self.assertClosed(c)
        ok = self.connect_as("192.0.2.10")   # SERVFAIL: temperror is never refused
        ok.ehlo()
        immune = self.connect_as("192.0.2.11")   # a relay client is not checked
        immune.ehlo()

    def test_dns_timeout_is_temperror_at_the_deadline(self):
        d = self.start(ZONES, ["fcrdns reject 1 timeout 1"] + TAIL)
        _, took = self.timed(lambda: self.connect_as("192.0.2.12"))   # the PTR query is dropped
        self.assertLess(took, 2.5, "the 1 s DNS deadline bounds the greeting")
        self.assertIn("fcrdns: iprev temperror", d.stderr_text())

    def test_reject_type_temp_default(self):
        self.start(ZONES, ["fcrdns reject 1"] + TAIL)
        c = self.connect_as("192.0.2.9", code=421)
        self.assertClosed(c)


class HeloTest(PolicyTestCase):

    def ehlo_as(self, ip, name, code, esc=None):
        c = self.connect_as(ip)
        return c, c.cmd(f"EHLO {name}", code, esc)

    def test_lenient(self):
        d = self.start(ZONES, ["helo"] + TAIL, files={"badhelo": "yahoo.com\n^dsl-[0-9]+\\.\n"})
        for name, text in (("localhost", "You are not localhost"),
                           ("Yahoo.COM", "I do not believe you are Yahoo.COM."),
                           ("dsl-42.isp.test", "Your HELO hostname is not allowed"),
                           ("[192.0.2.99]", "Forged IPs not accepted here"),
                           ("192.0.2.7", "Plain IP is invalid HELO hostname (RFC 2821)"),
                           ("mx.e2e.test", "You are not me")):
            with self.subTest(name=name):
                c, r = self.ehlo_as("192.0.2.7", name, 550)
                self.assertEqual(self.text_of(r), text)
                self.assertClosed(c)   # reject_type disconnect is qpsmtpd's default
        c, _ = self.ehlo_as("192.0.2.7", "[192.0.2.7]", 250)
        c, _ = self.ehlo_as("192.0.2.7", "nodots", 250)   # lenient allows unqualified names
        self.send_message(c)
        [m] = self.assertDelivered(d, 1)
        self.assertIn(b"\nX-HELO: nodots\r\n", m.raw)
        local = self.client(d)   # localhost from loopback is the truth
        local.cmd("EHLO localhost", 250)

    def test_rfc(self):
        self.start(ZONES, ["helo policy rfc reject_type perm"] + TAIL)
        for ip, name, text in (("192.0.2.7", "nodots", "HELO name is not fully qualified. Read RFC 2821"),
                               ("192.0.2.7", "bad_char.e2e.test",
                                "HELO name contains invalid FQDN characters. Read RFC 1035"),
                               ("192.0.2.7", "ghost.e2e.test", "HELO hostname does not exist"),
                               ("192.0.2.9", "good.e2e.test", "no reverse DNS for 192.0.2.9")):
            with self.subTest(name=name):
                c, r = self.ehlo_as(ip, name, 550)
                self.assertEqual(self.text_of(r), text)
                c.cmd("NOOP", 250)   # perm: the session goes on
        self.ehlo_as("192.0.2.7", "good.e2e.test", 250)
        self.ehlo_as("192.0.2.8", "far.helo.test", 250)      # rfc does not ask for a match
        self.ehlo_as("192.0.2.7", "broken.e2e.test", 250)    # SERVFAIL skips the test
        self.ehlo_as("192.0.2.10", "good.e2e.test", 250)     # ... for the PTR too

    def test_dns_timeout_skips_the_test(self):
        d = self.start(ZONES, ["helo policy rfc timeout 1"] + TAIL)
        c = self.connect_as("192.0.2.7")
        _, took = self.timed(lambda: c.cmd("EHLO silent.e2e.test", 250))
        self.assertLess(took, 2.5, "the 1 s DNS deadline bounds the EHLO")
        self.assertIn("helo: skip forward DNS test, timeout", d.stderr_text())

    def test_strict(self):
        d = self.start(ZONES, ["helo policy strict"] + TAIL)
        c, r = self.ehlo_as("192.0.2.8", "far.helo.test", 550)
        self.assertEqual(self.text_of(r), "That HELO hostname fails FCrDNS")
        c, r = self.ehlo_as("192.0.2.7", "[192.0.2.7]", 550)
        self.assertEqual(self.text_of(r), "RFC 2821 allows an address literal, but we do not")
        self.ehlo_as("192.0.2.7", "good.e2e.test", 250)
        c, r = self.ehlo_as("192.0.2.8", "noaddr.e2e.test", 550)   # exists, but no A/AAAA
        self.assertEqual(self.text_of(r), "HELO hostname did not resolve")
        self.assertIn("helo: fail, no forward DNS", d.stderr_text())

    def test_immunity(self):
        self.start(ZONES, ["relay", "whitelist", "helo"] + TAIL,
                   files={"relayclients": "192.0.2.7\n", "whitelisthelo": "localhost\n"})
        self.ehlo_as("192.0.2.7", "[192.0.2.1]", 250)   # relay client
        self.ehlo_as("192.0.2.9", "localhost", 250)     # whitelisthelo answers OK first
        self.ehlo_as("192.0.2.9", "[192.0.2.1]", 550)   # ... for that name only

    def test_reject_0_logs_only(self):
        d = self.start(ZONES, ["helo reject 0"] + TAIL)
        self.ehlo_as("192.0.2.9", "[192.0.2.1]", 250)
        self.assertIn("helo: fail, tolerated, forged IP literal", d.stderr_text())


if __name__ == "__main__":
    unittest.main()

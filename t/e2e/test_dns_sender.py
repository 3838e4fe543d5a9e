"""test_dns_sender.py - resolvable_fromhost and whitelist against a DNS server on loopback.

Owner: tooling (t/e2e/).
"""

import unittest

from dns_policy_support import PolicyTestCase

ZONES = """
mx.sender.test.       60 IN MX  10 mail.sender.test.
mail.sender.test.     60 IN A   192.0.2.50
amx.sender.test.      60 IN AAAA 2001:db8::25
nullmx.sender.test.   60 IN MX  0 .
private.sender.test.  60 IN MX  10 lan.sender.test.
lan.sender.test.      60 IN A   10.1.2.3
noaddr.sender.test.   60 IN TXT "no mail here"
!servfail broken.sender.test
!drop slow.sender.test
"""

TAIL = ["rcpt_ok", "queue/maildir {maildir}"]


class ResolvableFromhostTest(PolicyTestCase):

    def test_sender_domains(self):
        self.start(ZONES, ["resolvable_fromhost timeout 1"] + TAIL)
        c = self.client_of()
        for sender, code, esc, text in (
                ("x@mx.sender.test", 250, None, None),
                ("x@amx.sender.test", 250, None, None),          # implicit MX (AAAA only)
                ("", 250, None, None),                           # the null sender
                ("x@nullmx.sender.test", 550, "5.7.27", "Sender domain nullmx.sender.test does not accept mail (null MX)"),
                ("x@ghost.sender.test", 550, "5.1.8", "Sender domain ghost.sender.test does not exist"),
                ("x@private.sender.test", 550, "5.1.8",
                 "Sender domain private.sender.test points into a private or loopback network"),
                ("x@noaddr.sender.test", 550, "5.1.8", "Sender domain noaddr.sender.test has no MX or A record"),
                ("x@broken.sender.test", 451, "4.4.3", "Temporary failure in DNS lookup of broken.sender.test")):
            with self.subTest(sender=sender):
                r = c.cmd(f"MAIL FROM:<{sender}>", code, esc)
                if text:
                    self.assertEqual(self.text_of(r), text)
                c.cmd("RSET", 250)
        _, took = self.timed(lambda: c.cmd("MAIL FROM:<x@slow.sender.test>", 451, "4.4.3"))
        self.assertLess(took, 2.5, "the 1 s DNS deadline bounds the wait")

    def test_configured_networks_and_immunity(self):
        self.start(ZONES, ["relay", "whitelist", "resolvable_fromhost"] + TAIL,
                   files={"invalid_resolvable_fromhost": "192.0.2.0/24\n",
                          "whitelistsenders": "whitelisted.test\n", "relayclients": "192.0.2.7\n"})
        c = self.client_of()
        c.cmd("MAIL FROM:<x@mx.sender.test>", 550, "5.1.8")   # 192.0.2.50 is now "private"
        c.cmd("MAIL FROM:<x@private.sender.test>", 250)      # 10/8 is no longer listed
        c.cmd("RSET", 250)
        c.cmd("MAIL FROM:<x@whitelisted.test>", 250)          # whitelistsenders: OK first
        relay = self.connect_as("192.0.2.7")
        relay.ehlo()
        relay.cmd("MAIL FROM:<x@nullmx.sender.test>", 250)    # relay clients are immune

    def test_reject_0_and_temp(self):
        d = self.start(ZONES, ["resolvable_fromhost reject 0", "resolvable_fromhost:t reject_type temp"] + TAIL)
        c = self.client_of()
        c.cmd("MAIL FROM:<x@ghost.sender.test>", 450)   # the second instance refuses, temporarily
        self.assertIn("resolvable_fromhost: fail, tolerated", d.stderr_text())

    def client_of(self):
        c = self.client(self._daemons[-1])
        c.ehlo()
        return c


class WhitelistTest(PolicyTestCase):

    def test_whitelistrcpt_accepts_and_hosts_skip_connect_checks(self):
        d = self.start("", ["whitelist", "fcrdns reject 1 reject_type perm", "rcpt_ok", "queue/maildir {maildir}"],
                       files={"whitelistrcpt": "abuse@partner.test\n", "whitelisthosts": "192.0.2.0/25\n"})
        c = self.connect_as("192.0.2.9")   # no PTR, but whitelisted: fcrdns does not run
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.test>", 250)
        c.cmd("RCPT TO:<abuse@partner.test>", 250)   # accepted by whitelistrcpt, not rcpthosts
        c.cmd("RCPT TO:<other@partner.test>", 550)
        c.cmd("DATA", 354)
        c.send(b"Subject: w\r\n\r\nx\r\n.\r\n")
        c.expect(250)
        self.assertDelivered(d, 1)
        self.connect_as("192.0.2.200", code=554)   # outside the list: fcrdns refuses


if __name__ == "__main__":
    unittest.main()

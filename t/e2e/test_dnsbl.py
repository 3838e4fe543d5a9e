"""test_dnsbl.py - the dnsbl and rhsbl plugins against a DNS server on loopback.

Clients reach the daemon through its PROXY listener as 192.0.2.x (dns_policy_support.py), so
each address is a different DNS list entry. Owner: tooling (t/e2e/).
"""

import unittest

from dns_policy_support import PolicyTestCase

BL_ZONES = """
7.2.0.192.bl.test.   60 IN A   127.0.0.2
7.2.0.192.bl.test.   60 IN TXT "Listed by bl.test, see http://bl.test/192.0.2.7"
8.2.0.192.bl.test.   60 IN A   127.255.255.254
9.2.0.192.bl.test.   60 IN A   10.0.0.1
7.2.0.192.bl2.test.  60 IN A   127.0.0.4
!servfail 10.2.0.192.bl.test
!drop 11.2.0.192.bl.test
"""

RHS_ZONES = """
spam.sender.test.dbl.test.     60 IN A 127.0.0.2
badhelo.sender.test.dbl.test.  60 IN A 127.0.0.2
refused.sender.test.dbl.test.  60 IN A 127.255.255.252
!servfail fail.sender.test.dbl.test
!drop slow.sender.test.dbl.test
"""

DNSBL = ["dnsbl", "rcpt_ok", "queue/maildir {maildir}"]


class DnsblTest(PolicyTestCase):

    def test_listed_client_refused_at_rcpt_postmaster_exempt(self):
        d = self.start(BL_ZONES, DNSBL, files={"dnsbl_zones": "bl.test\n",
                                               "dnsbl_rejectmsg": "Your address is on a block list.\n"})
        c = self.connect_as("192.0.2.7")
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.test>", 250)
        r = c.cmd("RCPT TO:<a@example.test>", 550)
        self.assertIn("Your address is on a block list.", self.text_of(r))
        self.assertIn("Listed by bl.test, see http://bl.test/192.0.2.7", self.text_of(r))
        c.cmd("RCPT TO:<postmaster@example.test>", 250)
        c.cmd("RCPT TO:<Abuse@example.test>", 250)
        # The connect-time lookups were joined or cached: one A and one TXT query in all.
        self.assertEqual(self.dns.queries("7.2.0.192.bl.test", "A"), 1)
        self.assertEqual(self.dns.queries("7.2.0.192.bl.test", "TXT"), 1)

        clean = self.connect_as("192.0.2.20")
        clean.ehlo()
        self.send_message(clean)
        self.assertDelivered(d, 1)

    def test_zone_message_expands_ip_and_asks_no_txt(self):
        self.start(BL_ZONES, DNSBL, files={"dnsbl_zones": "bl2.test:Blocked %IP% at bl2\n"})
        c = self.connect_as("192.0.2.7")
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.test>", 250)
        r = c.cmd("RCPT TO:<a@example.test>", 550)
        self.assertEqual(self.text_of(r), "Blocked 192.0.2.7 at bl2")
        self.assertEqual(self.dns.queries("7.2.0.192.bl2.test", "TXT"), 0)

    def test_refused_and_non_loopback_answers_are_ignored(self):
        d = self.start(BL_ZONES, DNSBL, files={"dnsbl_zones": "bl.test\n"})
        for ip in ("192.0.2.8", "192.0.2.9"):
            c = self.connect_as(ip)
            c.ehlo()
            self.send_message(c)
        self.assertDelivered(d, 2)
        log = d.stderr_text()
        self.assertIn("refused the query (127.255.255.254)", log)
        self.assertIn("answered 10.0.0.1 (outside 127.0.0.0/8)", log)

    def test_servfail_and_timeout_accept_and_log(self):
        d = self.start(BL_ZONES, ["dnsbl timeout 1", "rcpt_ok", "queue/maildir {maildir}"],
                       files={"dnsbl_zones": "bl.test\n"})
        c = self.connect_as("192.0.2.10")
        c.ehlo()
        self.send_message(c)
        slow = self.connect_as("192.0.2.11")
        slow.ehlo()
        slow.cmd("MAIL FROM:<s@example.test>", 250)
        _, took = self.timed(lambda: slow.cmd("RCPT TO:<a@example.test>", 250))
        self.assertLess(took, 2.5, "the dnsbl deadline (1 s) bounds the wait")
        self.assertDelivered(d, 1)
        log = d.stderr_text()
        self.assertIn("bl.test: SERVFAIL", log)
        self.assertIn("bl.test: timeout", log)

    def test_immune_sessions_are_not_looked_up(self):
        self.start(BL_ZONES, ["relay", "whitelist"] + DNSBL,
                   files={"dnsbl_zones": "bl.test\n", "relayclients": "192.0.2.7\n"})
        c = self.connect_as("192.0.2.7")
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.test>", 250)
        c.cmd("RCPT TO:<a@foreign.test>", 250)
        self.assertEqual(self.dns.queries("7.2.0.192.bl.test", "A"), 0)

    def test_whitelisthosts_and_dnsbl_allow(self):
        for files in ({"whitelisthosts": "192.0.2.7\n"}, {"dnsbl_allow": "192.0.2.\n"}):
            with self.subTest(files=files):
                files = dict(files, dnsbl_zones="bl.test\n")
                self.start(BL_ZONES, ["whitelist"] + DNSBL, files=files)
                c = self.connect_as("192.0.2.7")
                c.ehlo()
                c.cmd("MAIL FROM:<s@example.test>", 250)
                c.cmd("RCPT TO:<a@example.test>", 250)
                self.assertEqual(self.dns.queries("7.2.0.192.bl.test", "A"), 0)

    def test_rblsmtpd_from_tcp_env(self):
        tcp_env = ('192.0.2.20:allow,RBLSMTPD="-Go away %IP%"\n'
                   '192.0.2.21:allow,RBLSMTPD="Come back later"\n'
                   '192.0.2.7:allow,RBLSMTPD=""\n:allow\n')
        d = self.start(BL_ZONES, DNSBL, files={"dnsbl_zones": "bl.test\n", "tcp.env": tcp_env})
        perm = self.connect_as("192.0.2.20")
        perm.ehlo()
        perm.cmd("MAIL FROM:<s@example.test>", 250)
        self.assertEqual(self.text_of(perm.cmd("RCPT TO:<a@example.test>", 553, "5.7.1")), "Go away 192.0.2.20")
        temp = self.connect_as("192.0.2.21")
        temp.ehlo()
        temp.cmd("MAIL FROM:<s@example.test>", 250)
        self.assertEqual(self.text_of(temp.cmd("RCPT TO:<a@example.test>", 451)), "Come back later")
        skip = self.connect_as("192.0.2.7")   # listed, but RBLSMTPD="" turns the lists off
        skip.ehlo()
        self.send_message(skip)
        self.assertDelivered(d, 1)
        # The daemon's own client-name lookup (PTR under in-addr.arpa) is not a list lookup.
        asked = [q for q in self.dns.stats()["queries"] if ".2.0.192." in q and "in-addr.arpa" not in q]
        self.assertEqual(asked, [], "RBLSMTPD set: no list lookups for these clients")

    def test_reject_0_logs_only_and_reject_type_temp(self):
        d = self.start(BL_ZONES, ["dnsbl reject 0", "dnsbl:soft reject_type temp", "rcpt_ok",
                                  "queue/maildir {maildir}"], files={"dnsbl_zones": "bl.test\n"})
        c = self.connect_as("192.0.2.7")
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.test>", 250)
        c.cmd("RCPT TO:<a@example.test>", 450)
        self.assertIn("dnsbl: fail, tolerated", d.stderr_text())


class RhsblTest(PolicyTestCase):

    def start_rhsbl(self, line="rhsbl"):
        return self.start(RHS_ZONES, ["whitelist", line, "rcpt_ok", "queue/maildir {maildir}"],
                          files={"rhsbl_zones": "dbl.test\n", "whitelistsenders": "white.sender.test\n"})

    def test_listed_sender_domain(self):
        d = self.start_rhsbl()
        c = self.connect_as("192.0.2.30")
        c.ehlo()
        c.cmd("MAIL FROM:<x@spam.sender.test>", 250)   # refused at RCPT, never at MAIL
        r = c.cmd("RCPT TO:<a@example.test>", 550)
        self.assertEqual(self.text_of(r), "Mail from spam.sender.test rejected because it is listed in dbl.test")
        c.cmd("RCPT TO:<postmaster@example.test>", 250)
        c.cmd("RSET", 250)
        self.send_message(c, sender="<x@ok.sender.test>")
        c.cmd("MAIL FROM:<>", 250)
        c.cmd("RCPT TO:<a@example.test>", 250)
        self.assertDelivered(d, 1)

    def test_dns_timeout_accepts_at_the_deadline(self):
        d = self.start_rhsbl("rhsbl timeout 1")
        c = self.connect_as("192.0.2.30")
        c.ehlo()
        c.cmd("MAIL FROM:<x@slow.sender.test>", 250)
        _, took = self.timed(lambda: c.cmd("RCPT TO:<a@example.test>", 250))
        self.assertLess(took, 2.5)
        self.assertIn("slow.sender.test.dbl.test: timeout", d.stderr_text())

    def test_helo_name_with_check_helo(self):
        self.start_rhsbl("rhsbl check_helo 1")
        c = self.connect_as("192.0.2.30")
        c.ehlo("badhelo.sender.test")
        c.cmd("MAIL FROM:<x@ok.sender.test>", 250)
        r = c.cmd("RCPT TO:<a@example.test>", 550)
        self.assertIn("Mail from HELO badhelo.sender.test rejected", self.text_of(r))

    def test_servfail_refused_and_whitelisted_sender(self):
        d = self.start_rhsbl()
        c = self.connect_as("192.0.2.30")
        c.ehlo()
        for sender in ("<x@fail.sender.test>", "<x@refused.sender.test>"):
            self.send_message(c, sender=sender)
        self.assertDelivered(d, 2)
        log = d.stderr_text()
        self.assertIn("fail.sender.test.dbl.test: SERVFAIL", log)
        self.assertIn("refused the query (127.255.255.252)", log)
        # whitelistsenders makes the transaction immune (the whitelist answers OK at MAIL).
        self.dns.write_zones(self.dns.dir.joinpath("zones").read_text()
                             + "white.sender.test.dbl.test. 60 IN A 127.0.0.2\n")
        self.send_message(c, sender="<x@white.sender.test>")
        self.assertEqual(self.dns.queries("white.sender.test.dbl.test", "A"), 0)


if __name__ == "__main__":
    unittest.main()

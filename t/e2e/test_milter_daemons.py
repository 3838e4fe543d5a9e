"""test_milter_daemons.py - client -> asmtpd (milter) -> Debian's clamav-milter and spamass-milter,
in front of a real clamd and spamd on loopback.

clamav-milter (scan_milter_support.ClamavMilter: OnInfected Reject, RejectMsg "Virus found: %v",
AddHeader Replace) talks to a clamd with a one-signature database the test writes
(scan_support.Clamd, no freshclam); clamd's own answer for the same bytes is the oracle. A
message carrying the signature is refused at end of message with clamav-milter's reply (550
5.7.1 Virus found: NAME) and not queued; a clean one is queued with its X-Virus-Scanned and
X-Virus-Status fields, the sender's own X-Virus-Status replaced (CHGHEADER on a client header). spamass-milter (-r 15, spamc against scan_support.Spamd: local rules, no
network tests) refuses GTUBE with its reply (550 5.7.1 Blocked by SpamAssassin) and queues a
plain message with the X-Spam-* fields it adds from spamd's answer; a second one rejecting only
above GTUBE's score tags it and wraps it as spamd's report_safe does (CHGHEADER Content-Type,
REPLBODY with the original as a message/rfc822 part).
Skipped, with the reason, when a milter or its daemon is not installed (scripts/bootstrap).
Owner: the milter plugin (issue 13).
"""

import re
import unittest

from harness import E2ETestCase
from scan_milter_support import (REPORT_HOST, ClamavMilter, SpamassMilter, clamav_milter_unavailable,
                                 spamass_milter_unavailable)
from scan_support import (GTUBE, TEST_SIGNATURE, VIRUS_NAME, Clamd, Spamd, clamd_unavailable, header_fields,
                          spamd_unavailable)

WHY_NOT_CLAM = clamav_milter_unavailable() or clamd_unavailable()
WHY_NOT_SPAM = spamass_milter_unavailable() or spamd_unavailable()

HEAD = (b"From: Alice <alice@example.org>\r\nTo: bob@example.com\r\nDate: Wed, 02 Dec 2026 12:00:00 +0000\r\n"
        b"Message-ID: <%s@example.org>\r\n")
CLEAN = (HEAD % b"clean.1" + b"Subject: report\r\nX-Virus-Status: Clean (forged by the sender)\r\n\r\n"
         b"The quarterly report is attached in spirit.\r\n")
INFECTED = HEAD % b"virus.1" + b"Subject: invoice\r\n\r\nsee " + TEST_SIGNATURE + b" here\r\n"
PLAIN = HEAD % b"lunch.1" + b"Subject: lunch\r\n\r\nShall we meet at noon at the usual place?\r\n"
SPAM = (HEAD % b"gtube.1" + b"Subject: offer\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n" +
        GTUBE + b"\r\n")


class _DaemonMilterCase(E2ETestCase):
    """One backing daemon and its milter per class; one asmtpd per test."""

    @classmethod
    def start_pair(cls, daemon, make_milter):
        cls.backend = daemon
        cls.milter = None
        try:
            daemon.start()
            cls.milter = make_milter(daemon).start()
        except Exception:
            cls.stop_pair()
            raise

    @classmethod
    def stop_pair(cls):
        if cls.milter is not None:
            cls.milter.cleanup()
        cls.backend.cleanup()

    @classmethod
    def tearDownClass(cls):
        cls.stop_pair()

    def send(self, content, milter=None):
        d = self.start_daemon(plugins=[f"milter socket {(milter or self.milter).socket} command_timeout 10 content_timeout 30",
                                       "rcpt_ok", "queue/maildir {maildir}"],
                              files={"rcpthosts": "example.com\n"})
        c = self.client(d, timeout=40)
        c.ehlo()
        r = c.send_mail(sender="s@example.org", rcpts=["bob@example.com"], body=content)
        c.cmd("QUIT", 221)
        return d, r


@unittest.skipIf(WHY_NOT_CLAM is not None, WHY_NOT_CLAM or "")
class ClamavMilterTest(_DaemonMilterCase):

    @classmethod
    def setUpClass(cls):
        cls.start_pair(Clamd(), ClamavMilter)

    def test_virus_is_refused_with_clamav_milters_reply(self):
        self.assertEqual(self.backend.scan(INFECTED), f"stream: {VIRUS_NAME} FOUND\0".encode())
        d, r = self.send(INFECTED)
        self.assertEqual((r.code, r.esc), (550, "5.7.1"), r.raw)
        self.assertEqual(r.text, f"5.7.1 Virus found: {VIRUS_NAME}")
        self.assertDelivered(d, 0)
        self.assertIn(VIRUS_NAME, self.milter.log_text())

    def test_clean_message_is_queued_with_the_x_virus_fields(self):
        self.assertEqual(self.backend.scan(CLEAN), b"stream: OK\0")
        d, r = self.send(CLEAN)
        self.assertEqual(r.code, 250, r.raw)
        [m] = self.assertDelivered(d, 1)
        [scanned] = header_fields(m.raw, "X-Virus-Scanned")
        self.assertRegex(scanned, rf"^clamav-milter [\d.]+ at {re.escape(REPORT_HOST)}$")
        self.assertEqual(header_fields(m.raw, "X-Virus-Status"), ["Clean"])
        body = m.raw.replace(b"\r\n", b"\n").partition(b"\n\n")[2]
        self.assertEqual(body, b"The quarterly report is attached in spirit.\n")


@unittest.skipIf(WHY_NOT_SPAM is not None, WHY_NOT_SPAM or "")
class SpamassMilterTest(_DaemonMilterCase):

    @classmethod
    def setUpClass(cls):
        cls.start_pair(Spamd(), lambda spamd: SpamassMilter(spamd, reject_at=15))

    def test_gtube_is_refused_with_spamass_milters_reply(self):
        d, r = self.send(SPAM)
        self.assertEqual((r.code, r.esc), (550, "5.7.1"), r.raw)
        self.assertEqual(r.text, "5.7.1 Blocked by SpamAssassin")
        self.assertDelivered(d, 0)

    def test_plain_message_is_queued_with_the_x_spam_fields(self):
        d, r = self.send(PLAIN)
        self.assertEqual(r.code, 250, r.raw)
        [m] = self.assertDelivered(d, 1)
        [status] = header_fields(m.raw, "X-Spam-Status")
        self.assertRegex(status, r"^No, score=-?[\d.]+ required=5\.0 tests=")
        self.assertEqual(len(header_fields(m.raw, "X-Spam-Checker-Version")), 1, m.raw[:2000])
        self.assertEqual(header_fields(m.raw, "X-Spam-Flag"), [])
        body = m.raw.replace(b"\r\n", b"\n").partition(b"\n\n")[2]
        self.assertEqual(body, b"Shall we meet at noon at the usual place?\n")

    def test_gtube_below_the_reject_score_is_tagged_and_wrapped(self):
        tagger = SpamassMilter(self.backend, reject_at=5000).start()
        self.addCleanup(tagger.cleanup)
        d, r = self.send(SPAM, milter=tagger)
        self.assertEqual(r.code, 250, r.raw)
        [m] = self.assertDelivered(d, 1)
        self.assertEqual(header_fields(m.raw, "X-Spam-Flag"), ["YES"])
        [status] = header_fields(m.raw, "X-Spam-Status")
        self.assertRegex(status, r"^Yes, score=\d+\.\d required=5\.0 tests=.*GTUBE")
        self.assertEqual(header_fields(m.raw, "X-Spam-Level"), ["*" * 50])
        # spamd's report_safe wrapping: the milter changed Content-Type and replaced the body.
        [ctype] = header_fields(m.raw, "Content-Type")
        boundary = re.fullmatch(r'multipart/mixed; boundary="(.+)"', ctype).group(1).encode()
        body = m.raw.replace(b"\r\n", b"\n").partition(b"\n\n")[2]
        self.assertEqual(body.count(b"--" + boundary), 3, body)
        original = body.split(b"Content-Type: message/rfc822; x-spam-type=original\n", 1)[1]
        self.assertIn(b"\nMessage-ID: <gtube.1@example.org>\n", original)
        self.assertIn(b"\nContent-Type: text/plain; charset=us-ascii\n\n" + GTUBE + b"\n", original)


if __name__ == "__main__":
    unittest.main()

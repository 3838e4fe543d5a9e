"""test_spamassassin.py - client -> asmtpd (spamassassin) -> a real spamd on loopback.

One spamd (scan_support.Spamd: Debian's rules, a private site configuration, --local, no user
preferences, no learning) serves the whole class. Its own SYMBOLS answer for the bytes asmtpd
sent it (rebuilt from the delivered file) is the oracle for the verdict. GTUBE above `reject` is refused with 552 5.7.1 and nothing is
queued; a plain message is queued with spamd's X-Spam-* headers; without `reject` GTUBE is
tagged (X-Spam-Flag: YES); spamd stopped or silent means accept and log by default, 451 4.3.0
with on_error defer; size_limit and relayclient skip leave messages unscanned.
Skipped, with the reason, only when spamd is not installed (scripts/bootstrap installs it).
Owner: content scanning plugins (issue 13).
"""

import re
import socket
import time
import unittest

from harness import Daemon, E2ETestCase, dot_stuff, free_port
from scan_support import GTUBE, Spamd, header_fields, spamd_unavailable

WHY_NOT = spamd_unavailable()

PLAIN = (b"From: Alice <alice@example.org>\r\nTo: bob@example.test\r\nSubject: lunch\r\n"
         b"Date: Wed, 02 Dec 2026 12:00:00 +0000\r\nMessage-ID: <lunch.1@example.org>\r\n\r\n"
         b"Shall we meet at noon at the usual place?\r\n")
SPAM = (b"From: x@example.org\r\nTo: bob@example.test\r\nSubject: offer\r\n"
        b"Message-ID: <gtube.1@example.org>\r\n\r\n" + GTUBE + b"\r\n")


def spam_line(reply: bytes):
    """(flag, score, threshold) from a spamd reply's Spam: line."""
    m = re.search(rb"Spam: (True|False) ; (-?[\d.]+) / (-?[\d.]+)", reply)
    assert m, reply
    return m.group(1).decode(), m.group(2).decode(), m.group(3).decode()


def as_scanned(raw: bytes) -> bytes:
    """What asmtpd sent spamd for a delivered file: X-Envelope-From, then the file (our Received,
    the client's message) without the X-Spam-* fields the plugin added, CRLF line ends."""
    crlf = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    head, sep, body = crlf.partition(b"\r\n\r\n")
    kept = [f for f in re.split(rb"\r\n(?![ \t])", head) if not f.lower().startswith(b"x-spam-")]
    return b"X-Envelope-From: <s@example.org>\r\n" + b"\r\n".join(kept) + sep + body


@unittest.skipIf(WHY_NOT is not None, WHY_NOT or "")
class SpamAssassinTest(E2ETestCase):

    @classmethod
    def setUpClass(cls):
        cls.spamd = Spamd()
        try:
            cls.spamd.start()
        except Exception:
            cls.spamd.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.spamd.cleanup()

    def daemon(self, *args, plugins_before=(), files=None):
        line = " ".join(["spamassassin"] + list(args))
        return self.start_daemon(plugins=list(plugins_before) + [line, "rcpt_ok", "queue/maildir {maildir}"],
                                 files=files)

    def send(self, d, content):
        c = self.client(d, timeout=40)
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.org>", 250)
        c.cmd("RCPT TO:<bob@example.test>", 250)
        c.cmd("DATA", 354)
        c.send(dot_stuff(content) + b".\r\n")
        r = c.read_reply(40)
        c.cmd("QUIT", 221)
        return r

    def test_gtube_is_refused_and_not_queued(self):
        self.assertEqual(spam_line(self.spamd.check(SPAM))[0], "True")
        d = self.daemon("spamd_socket", self.spamd.hop, "reject", "20")
        r = self.send(d, SPAM)
        self.assertEqual((r.code, r.esc), (552, "5.7.1"), r.raw)
        self.assertIn("spam score exceeded threshold", r.text)
        self.assertDelivered(d, 0)
        self.assertRegex(d.stderr_text(), r"spamassassin: deny, Spam, 10\d\d\.\d >= 20 \(tests=\S*GTUBE")

    def test_temp_reject_type_defers_spam(self):
        d = self.daemon("spamd_socket", self.spamd.hop, "reject_threshold", "20", "reject_type", "temp")
        r = self.send(d, SPAM)
        self.assertEqual((r.code, r.esc), (452, "4.7.1"), r.raw)
        self.assertDelivered(d, 0)

    def test_plain_message_is_queued_with_spamds_headers(self):
        d = self.daemon("spamd_socket", self.spamd.hop, "reject", "20")
        r = self.send(d, PLAIN)
        self.assertEqual(r.code, 250, r.raw)
        [m] = self.assertDelivered(d, 1)
        flag, score, required = spam_line(self.spamd.check(as_scanned(m.raw)))
        self.assertEqual(flag, "False")
        status = header_fields(m.raw, "X-Spam-Status")
        self.assertEqual(len(status), 1, m.raw[:2000])
        self.assertTrue(status[0].startswith(f"No, score={score} required={required} tests="), status)
        self.assertEqual(len(header_fields(m.raw, "X-Spam-Level")), 1)
        self.assertEqual(len(header_fields(m.raw, "X-Spam-Checker-Version")), 1)
        self.assertEqual(header_fields(m.raw, "X-Spam-Flag"), [])
        self.assertTrue(m.raw.endswith(m.stored_form(PLAIN)))
        self.assertRegex(d.stderr_text(), rf"spamassassin: pass, Ham, {re.escape(score)} < 20")

    def test_gtube_without_reject_is_tagged(self):
        d = self.daemon("spamd_socket", self.spamd.hop)
        r = self.send(d, SPAM)
        self.assertEqual(r.code, 250, r.raw)
        [m] = self.assertDelivered(d, 1)
        flag, score, required = spam_line(self.spamd.check(as_scanned(m.raw)))
        self.assertEqual(flag, "True")
        self.assertEqual(header_fields(m.raw, "X-Spam-Flag"), ["YES"])
        [status] = header_fields(m.raw, "X-Spam-Status")
        self.assertTrue(status.startswith(f"Yes, score={score} required={required}"), status)
        self.assertIn("GTUBE", status)
        self.assertEqual(header_fields(m.raw, "X-Spam-Level"), ["*" * 50])
        self.assertIn("(no reject)", d.stderr_text())

    def test_spamd_stopped_accepts_and_logs(self):
        d = self.daemon("spamd_socket", f"127.0.0.1:{free_port()}", "reject", "5")
        r = self.send(d, SPAM)
        self.assertEqual(r.code, 250, r.raw)
        [m] = self.assertDelivered(d, 1)
        self.assertEqual(header_fields(m.raw, "X-Spam-Status"), [])
        self.assertRegex(d.stderr_text(), r"spamassassin: error, spamd 127\.0\.0\.1:\d+: .*; accepted unscanned")

    def test_spamd_stopped_with_defer_answers_451(self):
        d = self.daemon("spamd_socket", f"127.0.0.1:{free_port()}", "on_error", "defer")
        r = self.send(d, PLAIN)
        self.assertEqual((r.code, r.esc), (451, "4.3.0"), r.raw)
        self.assertIn("Unable to scan for spam", r.text)
        self.assertDelivered(d, 0)

    def test_silent_spamd_times_out_into_the_fail_mode(self):
        # Accepts connections (the kernel's backlog) and never reads or answers.
        with socket.socket() as mute:
            mute.bind(("127.0.0.1", 0))
            mute.listen(8)
            hop = f"127.0.0.1:{mute.getsockname()[1]}"
            d = self.daemon("spamd_socket", hop, "timeout", "0.5")
            t0 = time.monotonic()
            r = self.send(d, PLAIN)
            self.assertEqual(r.code, 250, r.raw)
            self.assertLess(time.monotonic() - t0, 10)
            self.assertIn("no answer within 500 ms; accepted unscanned", d.stderr_text())
            d2 = self.daemon("spamd_socket", hop, "timeout", "0.5", "on_error", "defer")
            r = self.send(d2, PLAIN)
            self.assertEqual(r.code, 451, r.raw)

    def test_size_limit_and_relay_clients_skip_the_scan(self):
        d = self.daemon("spamd_socket", self.spamd.hop, "reject", "5", "size_limit", "100")
        r = self.send(d, SPAM)
        self.assertEqual(r.code, 250, r.raw)
        self.assertRegex(d.stderr_text(), r"spamassassin: skip, too large \(\d+ > 100\)")
        d2 = self.daemon("spamd_socket", self.spamd.hop, "reject", "5", "relayclient", "skip",
                         plugins_before=["relay"], files={"relayclients": "127.0.0.1\n"})
        r = self.send(d2, SPAM)
        self.assertEqual(r.code, 250, r.raw)
        self.assertIn("spamassassin: skip, relay client", d2.stderr_text())

    def test_bad_arguments_stop_the_start(self):
        for args in (["reject", "lots"], ["leave_old_headers", "drop"], ["spamd_socket", "spamd.example:783"],
                     ["on_error", "panic"], ["reject", "5", "reject_threshold", "6"]):
            with self.subTest(args=args):
                d = Daemon(plugins=[" ".join(["spamassassin"] + args), "rcpt_ok", "queue/maildir {maildir}"])
                try:
                    d.start(wait=False)
                    self.assertIsNotNone(d.wait(15), "asmtpd started with spamassassin " + " ".join(args))
                    self.assertNotEqual(d.returncode, 0)
                    self.assertIn("spamassassin", d.stderr_text())
                finally:
                    d.kill()
                    d.cleanup()


if __name__ == "__main__":
    unittest.main()

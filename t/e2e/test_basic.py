"""test_basic.py - greeting, EHLO/HELO, a plain delivery (smtplib, swaks), RSET/NOOP/VRFY/HELP/QUIT.

Every test asserts the replies and what reached the maildir. Owner: tooling (t/e2e/).
"""

import re
import smtplib
import subprocess
import unittest

from envelope_support import EnvelopeRecording
from harness import HOSTNAME, E2ETestCase

RFC5322_DATE = r"(?:[A-Z][a-z]{2}, )?\d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d(?::\d\d)? [+-]\d{4}"


class BasicTest(EnvelopeRecording, E2ETestCase):

    def test_greeting_names_hostname(self):
        d = self.start_daemon()
        c = self.client(d)
        self.assertTrue(c.greeting.lines[0].startswith(HOSTNAME + " ") or c.greeting.lines[0] == HOSTNAME,
                        c.greeting.raw)
        self.assertEqual(len(c.greeting.lines), 1)
        c.cmd("QUIT", 221)
        self.assertClosed(c)

    def test_ehlo_keywords(self):
        d = self.start_daemon(settings={"limits": {"databytes": 1234567}})
        c = self.client(d)
        r = c.ehlo("client.e2e.test")
        self.assertGreater(len(r.lines), 1, "EHLO reply must be multi-line with keywords")
        self.assertTrue(r.lines[0].startswith(HOSTNAME), r.raw)
        keywords = [line.upper() for line in r.lines[1:]]
        names = {k.split()[0] for k in keywords}
        for kw in ("PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES", "SMTPUTF8", "SIZE"):
            self.assertIn(kw, names, r.raw)
        self.assertIn("SIZE 1234567", keywords, r.raw)
        # EHLO keywords never carry an enhanced status code (RFC 2034 §3).
        for k in keywords:
            self.assertFalse(re.match(r"^\d\.\d", k), r.raw)
        # No keyword advertised twice.
        self.assertEqual(len(names), len(keywords), r.raw)

    def test_helo_then_delivery_is_smtp(self):
        d = self.start_daemon()
        c = self.client(d)
        r = c.cmd("HELO client.e2e.test", 250)
        self.assertEqual(len(r.lines), 1, "HELO reply has no keywords")
        self.assertIn(HOSTNAME, r.lines[0])
        body = b"Subject: helo\r\n\r\nvia HELO\r\n"
        c.send_mail(body=body)
        c.cmd("QUIT", 221)
        [m] = self.assertDelivered(d, 1)
        self.assertEqual(m.content, m.stored_form(body))
        self.assertRegex(m.received, r"with SMTP\b", "HELO sessions are SMTP, not ESMTP")

    def test_second_ehlo_resets_transaction(self):
        d = self.start_recording_daemon()
        c = self.client(d)
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.test>", 250)
        c.cmd("RCPT TO:<a@example.test>", 250)
        c.ehlo("again.e2e.test")
        # RFC 5321 §4.1.4: EHLO in mid-session resets the state like RSET.
        c.cmd("DATA", 503)
        c.cmd("RCPT TO:<a@example.test>", 503, "5.5.1")
        c.cmd("MAIL FROM:<s2@example.test>", 250)
        c.cmd("RCPT TO:<a@example.test>", 250)
        c.cmd("DATA", 354)
        c.send(b"Subject: after second EHLO\r\n\r\nx\r\n.\r\n")
        c.expect(250)
        [q] = self.assertQueued(d, 1)
        self.assertIn("again.e2e.test", q.message.received)
        self.assertEqual(q.sender, "s2@example.test")
        self.assertEqual(q.recipients, ["a@example.test"])

    def test_helo_ehlo_without_argument(self):
        d = self.start_daemon()
        c = self.client(d)
        c.cmd("EHLO", 501)
        c.cmd("HELO", 501)
        c.cmd("EHLO ", 501)
        c.cmd("MAIL FROM:<s@example.test>", 503)   # still no greeting exchanged
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.test>", 250)
        self.assertDelivered(d, 0)

    def test_smtplib_delivery_byte_exact(self):
        d = self.start_daemon()
        msg = (b"From: Sender <s@example.test>\r\n"
               b"To: <a@example.test>\r\n"
               b"Subject: byte exact\r\n"
               b"Message-ID: <1@client.e2e.test>\r\n"
               b"\r\n"
               b"line one\r\n"
               b".leading dot\r\n"
               b"..two dots\r\n"
               b"\r\n"
               b"   indented\ttab \r\n"
               b"last line\r\n")
        with smtplib.SMTP("127.0.0.1", d.port, local_hostname="client.e2e.test", timeout=10) as s:
            refused = s.sendmail("s@example.test", ["a@example.test"], msg)
            self.assertEqual(refused, {})
        [m] = self.assertDelivered(d, 1)
        self.assertIsNotNone(m.received, m.raw[:300])
        self.assertEqual(m.content, m.stored_form(msg))

    def test_maildir_keeps_the_envelope_as_qmail_local_does(self):
        d = self.start_daemon()
        c = self.client(d)
        c.ehlo()
        c.send_mail(sender="env@example.test", rcpts=("a@example.test", "b@example.test"),
                    body=b"Subject: envelope\r\n\r\nx\r\n")
        c.cmd("MAIL FROM:<>", 250)
        c.cmd("RCPT TO:<a@example.test>", 250)
        c.cmd("DATA", 354)
        c.send(b"Subject: bounce\r\n\r\ny\r\n.\r\n")
        c.expect(250)
        got = sorted(self.assertDelivered(d, 2), key=lambda m: b"bounce" in m.raw)
        # Return-Path with the sender, then a Delivered-To per recipient, before everything else.
        self.assertTrue(got[0].raw.startswith(b"Return-Path: <env@example.test>\r\n"
                                              b"Delivered-To: a@example.test\r\n"
                                              b"Delivered-To: b@example.test\r\nReceived: "), got[0].raw[:200])
        self.assertTrue(got[1].raw.startswith(b"Return-Path: <>\r\nDelivered-To: a@example.test\r\nReceived: "),
                        got[1].raw[:200])

    def test_received_header(self):
        d = self.start_daemon()
        c = self.client(d)
        c.ehlo("helo-name.e2e.test")
        c.send_mail(body=b"Subject: received\r\n\r\nx\r\n")
        [m] = self.assertDelivered(d, 1)
        rcv = m.received
        self.assertIsNotNone(rcv, m.raw[:300])
        self.assertTrue(rcv.startswith("Received: from "), rcv)
        self.assertIn("helo-name.e2e.test", rcv)
        self.assertIn("127.0.0.1", rcv)
        self.assertRegex(rcv, r"\bby " + re.escape(HOSTNAME) + r"\b")
        self.assertRegex(rcv, r"\bwith ESMTP\b")
        self.assertRegex(rcv, r"\bid \S+")
        self.assertRegex(rcv, r";\s*" + RFC5322_DATE + r"\s*(\(.*\))?$")
        # The field is folded (if at all) with a line end + white space, never with a bare CR.
        head = m.raw[:len(m.raw) - len(m.content)]
        self.assertNotRegex(head.decode("latin-1"), r"\r(?!\n)")

    def test_swaks_delivery(self):
        d = self.start_daemon()
        p = subprocess.run(["swaks", "--server", f"127.0.0.1:{d.port}", "--to", "a@example.test"],
                           capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        self.assertEqual(p.returncode, 0, p.stdout.decode(errors="replace")[-3000:])
        [m] = self.assertDelivered(d, 1)
        self.assertIn(b"This is a test mailing", m.content)
        self.assertIn(b"To: a@example.test", m.content)

    def test_null_sender(self):
        d = self.start_recording_daemon()
        c = self.client(d)
        c.ehlo()
        c.cmd("MAIL FROM:<>", 250)
        c.cmd("RCPT TO:<a@example.test>", 250)
        c.cmd("DATA", 354)
        body = b"Subject: bounce\r\n\r\nundeliverable\r\n"
        c.send(body + b".\r\n")
        c.expect(250)
        [q] = self.assertQueued(d, 1)
        self.assertEqual(q.message.content, body)
        self.assertEqual(q.sender, "")
        self.assertEqual(q.recipients, ["a@example.test"])

    def test_rset_clears_transaction(self):
        d = self.start_recording_daemon()
        c = self.client(d)
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.test>", 250)
        c.cmd("RCPT TO:<a@example.test>", 250)
        c.cmd("RSET", 250)
        c.cmd("DATA", 503)
        c.cmd("RCPT TO:<a@example.test>", 503)
        c.cmd("RSET", 250)      # RSET outside a transaction is fine too
        c.cmd("MAIL FROM:<s@example.test>", 250)
        c.cmd("RCPT TO:<b@example.test>", 250)
        c.cmd("DATA", 354)
        c.send(b"Subject: after rset\r\n\r\nx\r\n.\r\n")
        c.expect(250)
        [q] = self.assertQueued(d, 1)
        self.assertEqual(q.sender, "s@example.test")
        self.assertEqual(q.recipients, ["b@example.test"])

    def test_noop_vrfy_help_quit(self):
        d = self.start_daemon()
        c = self.client(d)
        c.ehlo()
        c.cmd("NOOP", 250)
        c.cmd("NOOP some argument", 250)
        c.cmd("VRFY postmaster", 252)
        c.cmd("HELP", 214)
        r = c.cmd("QUIT", 221)
        self.assertIn(HOSTNAME, r.text)
        self.assertClosed(c)
        self.assertEqual(c.pending(), b"")
        self.assertDelivered(d, 0)

    def test_enhanced_status_codes(self):
        d = self.start_daemon()
        c = self.client(d)
        c.ehlo()
        replies = [
            c.cmd("NOOP", 250),
            c.cmd("MAIL FROM:<s@example.test>", 250, "2.1.0"),
            c.cmd("RCPT TO:<a@example.test>", 250, "2.1.5"),
            c.cmd("RCPT TO:<x@foreign.test>", 550),
            c.cmd("VRFY a", 252),
            c.cmd("RSET", 250),
            c.cmd("DATA", 503),
            c.cmd("XYZZY", 500),
            c.cmd("MAIL FROM:<s@example.test>", 250, "2.1.0"),
            c.cmd("RCPT TO:<a@example.test>", 250, "2.1.5"),
        ]
        c.cmd("DATA", 354)
        c.send(b"Subject: esc\r\n\r\nx\r\n.\r\n")
        replies.append(c.expect(250))
        replies.append(c.cmd("QUIT", 221))
        for r in replies:
            self.assertEscMatches(r)
        self.assertDelivered(d, 1)

    def test_verbs_are_case_insensitive(self):
        d = self.start_daemon()
        c = self.client(d)
        c.cmd("ehlo client.e2e.test", 250)
        c.cmd("mail from:<s@example.test>", 250)
        c.cmd("rcpt to:<a@example.test>", 250)
        c.cmd("Data", 354)
        c.send(b"Subject: lower case\r\n\r\nx\r\n.\r\n")
        c.expect(250)
        c.cmd("quit", 221)
        self.assertDelivered(d, 1)


if __name__ == "__main__":
    unittest.main()

"""test_protocol_corners.py - protocol corners of issue 16: ESMTP parameters after a plain
HELO (555), UTF-8 in replies to an SMTPUTF8 transaction (never "??"), and queue/maildir
keeping the envelope (Return-Path, Delivered-To) as qmail-local does.

Owner: tooling (t/e2e/).
"""

from harness import E2ETestCase


class HeloParametersTest(E2ETestCase):

    def test_parameters_after_helo_get_555(self):
        d = self.start_daemon()
        c = self.client(d)
        c.cmd("HELO client.e2e.test", 250)
        for params in ("SIZE=100", "BODY=8BITMIME", "SMTPUTF8"):
            c.cmd(f"MAIL FROM:<a@example.test> {params}", 555, "5.5.4")
        # Without parameters HELO clients are served as before.
        c.cmd("MAIL FROM:<a@example.test>", 250)
        c.cmd("RCPT TO:<b@example.test>", 250)
        c.cmd("DATA", 354)
        c.send(b"Subject: helo\r\n\r\nx\r\n.\r\n")
        c.expect(250)
        self.assertDelivered(d, 1)

    def test_the_same_parameters_after_ehlo_are_fine(self):
        d = self.start_daemon()
        c = self.client(d)
        c.ehlo()
        c.cmd("MAIL FROM:<a@example.test> SIZE=100 BODY=8BITMIME", 250)


class Utf8RepliesTest(E2ETestCase):

    def test_utf8_addresses_come_back_unmangled(self):
        d = self.start_daemon()
        c = self.client(d)
        c.ehlo()
        r = c.cmd("MAIL FROM:<\u00fcser@example.test> SMTPUTF8".encode(), 250)
        self.assertIn("<\u00fcser@example.test>", r.raw.decode("utf-8"))
        r = c.cmd("RCPT TO:<j\u00f6rg@example.test>".encode(), 250)
        self.assertIn("<j\u00f6rg@example.test>", r.raw.decode("utf-8"))
        self.assertNotIn(b"??", r.raw)
        c.cmd("DATA", 354)
        c.send("Subject: gr\u00fc\u00dfe\r\n\r\nk\u00e4se\r\n.\r\n".encode())
        c.expect(250)
        self.assertDelivered(d, 1)
        msg = d.maildir.new_files()[0].read_bytes()
        self.assertIn("k\u00e4se".encode(), msg)

    def test_utf8_without_smtputf8_is_still_refused(self):
        d = self.start_daemon()
        c = self.client(d)
        c.ehlo()
        r = c.cmd("MAIL FROM:<\u00fcser@example.test>".encode())
        self.assertEqual(r.code // 100, 5, r.raw)


class MaildirEnvelopeTest(E2ETestCase):

    def test_return_path_and_delivered_to_as_qmail_local_writes_them(self):
        d = self.start_daemon()
        c = self.client(d)
        c.ehlo()
        c.cmd("MAIL FROM:<sender@example.org>", 250)
        c.cmd("RCPT TO:<one@example.test>", 250)
        c.cmd("RCPT TO:<two@example.test>", 250)
        c.cmd("DATA", 354)
        c.send(b"Subject: envelope\r\n\r\nbody\r\n.\r\n")
        c.expect(250)
        raw = d.maildir.new_files()[0].read_bytes()
        self.assertTrue(raw.startswith(b"Return-Path: <sender@example.org>\r\n"
                                       b"Delivered-To: one@example.test\r\n"
                                       b"Delivered-To: two@example.test\r\n"
                                       b"Received: from "), raw[:200])
        # The null sender is recorded as <>.
        c.cmd("MAIL FROM:<>", 250)
        c.cmd("RCPT TO:<one@example.test>", 250)
        c.cmd("DATA", 354)
        c.send(b"Subject: bounce\r\n\r\nbody\r\n.\r\n")
        c.expect(250)
        bounce = [f.read_bytes() for f in d.maildir.new_files() if b"Subject: bounce" in f.read_bytes()][0]
        self.assertTrue(bounce.startswith(b"Return-Path: <>\r\nDelivered-To: one@example.test\r\n"), bounce[:100])

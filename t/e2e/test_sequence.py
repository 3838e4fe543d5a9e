"""test_sequence.py - command order, unknown verbs, MAIL/RCPT syntax and ESMTP parameters, error limit.

Owner: tooling (t/e2e/).
"""

import unittest

from envelope_support import EnvelopeRecording
from harness import E2ETestCase

PLUGINS_WITH_COUNT = ["count_unrecognized_commands 4", "rcpt_ok", "queue/maildir {maildir}"]


class SequenceTest(EnvelopeRecording, E2ETestCase):

    def test_rcpt_before_mail(self):
        d = self.start_daemon()
        c = self.client(d)
        c.ehlo()
        c.cmd("RCPT TO:<a@example.test>", 503, "5.5.1")
        c.cmd("MAIL FROM:<s@example.test>", 250)   # the session goes on
        c.cmd("RCPT TO:<a@example.test>", 250)
        self.assertDelivered(d, 0)

    def test_data_before_rcpt(self):
        d = self.start_daemon()
        c = self.client(d)
        c.ehlo()
        c.cmd("DATA", 503)                          # no MAIL
        c.cmd("MAIL FROM:<s@example.test>", 250)
        c.cmd("DATA", 503)                          # no RCPT
        c.cmd("RCPT TO:<x@foreign.test>", 550)
        c.cmd("DATA", (503, 554))                   # no *accepted* RCPT (RFC 5321 §3.3)
        c.cmd("NOOP", 250)
        self.assertDelivered(d, 0)

    def test_mail_before_helo(self):
        d = self.start_daemon()
        c = self.client(d)
        c.cmd("MAIL FROM:<s@example.test>", 503)
        c.cmd("RCPT TO:<a@example.test>", 503)
        c.cmd("DATA", 503)
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.test>", 250)
        self.assertDelivered(d, 0)

    def test_nested_mail(self):
        d = self.start_recording_daemon()
        c = self.client(d)
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.test>", 250)
        c.cmd("MAIL FROM:<t@example.test>", 503, "5.5.1")
        # The first transaction is intact.
        c.cmd("RCPT TO:<a@example.test>", 250)
        c.cmd("DATA", 354)
        c.send(b"Subject: nested\r\n\r\nx\r\n.\r\n")
        c.expect(250)
        [q] = self.assertQueued(d, 1)
        self.assertEqual(q.sender, "s@example.test")
        self.assertEqual(q.recipients, ["a@example.test"])

    def test_unknown_verb(self):
        d = self.start_daemon()
        c = self.client(d)
        c.ehlo()
        c.cmd("FOOBAR", 500, "5.5.1")
        c.cmd("FOOBAR with args", 500, "5.5.1")
        c.cmd("NOOP", 250)

    def test_count_unrecognized_commands_disconnects_on_fourth(self):
        d = self.start_daemon(plugins=PLUGINS_WITH_COUNT)
        c = self.client(d)
        c.ehlo()
        for verb in ("ONE", "TWO", "THREE"):
            c.cmd(verb, 500)
        c.cmd("NOOP", 250)       # known commands do not reset nor add to the count
        c.cmd("FOUR", 521)
        self.assertClosed(c)
        self.assertEqual(c.pending(), b"")
        # The daemon still serves others.
        c2 = self.client(d)
        c2.ehlo()
        c2.cmd("ONE", 500)

    def test_mail_syntax_errors(self):
        d = self.start_daemon(settings={"limits": {"databytes": 10000}})
        c = self.client(d)
        c.ehlo()
        c.cmd("MAIL FROM:foo", 501)
        c.cmd("MAIL FROM:<foo", 501)
        c.cmd("MAIL TO:<a@b.test>", 501)
        c.cmd("MAIL FROM:<a@b.test> FOO=bar", 555, "5.5.4")
        c.cmd("MAIL FROM:<a@b.test> SIZE=abc", 501)
        c.cmd("MAIL FROM:<a@b.test> SIZE=10001", 552, "5.3.4")
        c.cmd("MAIL FROM:<a@b.test> BODY=foo", (501, 555))
        # Nothing above opened a transaction.
        c.cmd("RCPT TO:<a@example.test>", 503)
        c.cmd("MAIL FROM:<a@b.test> SIZE=10000", 250)
        c.cmd("RSET", 250)
        c.cmd("MAIL FROM:<a@b.test> BODY=8BITMIME", 250)
        c.cmd("RSET", 250)
        c.cmd("MAIL FROM:<a@b.test> BODY=7BIT SIZE=5", 250)
        c.cmd("RSET", 250)
        c.cmd("MAIL FROM:<a@b.test> SMTPUTF8", 250)
        c.cmd("RSET", 250)
        self.assertDelivered(d, 0)

    def test_utf8_address_needs_smtputf8(self):
        d = self.start_daemon()
        c = self.client(d)
        c.ehlo()
        c.cmd("MAIL FROM:<jörg@example.test>", 553, "5.6.7")
        c.cmd("MAIL FROM:<s@example.test>", 250)
        c.cmd("RCPT TO:<müller@example.test>", 553, "5.6.7")
        c.cmd("RSET", 250)
        c.cmd("MAIL FROM:<jörg@example.test> SMTPUTF8", 250)
        c.cmd("RCPT TO:<müller@example.test>", 250)
        c.cmd("DATA", 354)
        body = "Subject: utf8\r\n\r\nGrüße\r\n".encode()
        c.send(body + b".\r\n")
        c.expect(250)
        [m] = self.assertDelivered(d, 1)
        self.assertEqual(m.content, m.stored_form(body))

    def test_nul_in_envelope_rejected(self):
        d = self.start_daemon()
        c = self.client(d)
        c.ehlo()
        c.cmd(b"MAIL FROM:<a@b.test\x00Tvictim@c.test>", (500, 501, 553))
        c.cmd("MAIL FROM:<s@example.test>", 250)
        c.cmd(b"RCPT TO:<a@example.test\x00Tvictim@c.test>", (500, 501, 553))
        c.cmd("DATA", 503)
        self.assertDelivered(d, 0)

    def test_max_errors_closes_with_421(self):
        limit = 3
        d = self.start_daemon(settings={"limits": {"max_errors": limit}})
        c = self.client(d)
        c.ehlo()
        seen = []
        for i in range(limit + 3):
            c.send("MAIL FROM:broken\r\n")
            try:
                r = c.read_reply()
            except AssertionError:
                break   # closed without a reply
            seen.append(r.code)
            if r.code == 421:
                break
        self.assertIn(421, seen, f"no 421 after {len(seen)} errors: {seen}")
        # The 421 comes with the limit-th error or right after it, never earlier.
        self.assertIn(len(seen), (limit, limit + 1), seen)
        self.assertTrue(all(code == 501 for code in seen[:-1]), seen)
        self.assertClosed(c)
        self.assertDelivered(d, 0)


if __name__ == "__main__":
    unittest.main()

"""test_smuggling.py - SMTP smuggling (CVE-2023-51764/5/6): only <CRLF>.<CRLF> ends a message.

Each probe ends the body with a malformed end-of-data, then pipelines a second, spoofed
transaction, then the real <CRLF>.<CRLF>. With the default policy (bare_lf: reject) the daemon
must read to the strict end, answer one 5xx 5.5.2, close, and deliver nothing. With
bare_lf: normalize (trusted clients) exactly one message is delivered, holding the smuggled
commands as data. The spoofed MAIL must never get a 250 in either mode.
Owner: tooling (t/e2e/).
"""

import unittest

from harness import E2ETestCase

ENDINGS = {
    "lf.lf": b"\n.\n",
    "lf.crlf": b"\n.\r\n",
    "crlf.lf": b"\r\n.\n",
    "cr.cr": b"\r.\r",
    "cr.crlf": b"\r.\r\n",
    "crlf.cr": b"\r\n.\r",
    "crlf-nul.crlf": b"\r\n\x00.\r\n",
}
# The NUL probe holds no bare CR or LF: every line of it ends in CRLF and "\0." is not a dot
# line. A daemon may reject it (NUL in text, RFC 5321 §4.5.2 forbids it) or take it as ONE
# message whose data includes the smuggled commands; both keep the spoof out.
NO_BARE_LINE_END = {"crlf-nul.crlf"}

SMUGGLED = (b"MAIL FROM:<spoof@evil.test>\r\n"
            b"RCPT TO:<a@example.test>\r\n"
            b"DATA\r\n"
            b"smuggled\r\n")
STRICT_END = b"\r\n.\r\n"


class SmugglingTest(E2ETestCase):

    def probe(self, d, ending):
        c = self.client(d)
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.test>", 250)
        c.cmd("RCPT TO:<a@example.test>", 250)
        c.cmd("DATA", 354)
        c.send(b"Subject: smuggling probe\r\n\r\nhello" + ending + SMUGGLED + STRICT_END)
        replies = []
        while True:
            try:
                # The first reply may take a while (ASan); anything after it comes at once.
                replies.append(c.read_reply(timeout=10 if not replies else 1))
            except AssertionError:
                break           # closed, or nothing more
        return c, replies

    def assert_no_spoof(self, d, replies):
        texts = " | ".join(r.raw.decode(errors="replace") for r in replies)
        for m in d.maildir.messages():
            self.assertNotIn(b"From: spoof", m.content)
            self.assertFalse(m.content.startswith(b"smuggled"), "smuggled DATA became a message")
        self.assertLessEqual(sum(1 for r in replies if r.code == 250), 1, texts)
        self.assertLessEqual(len(replies), 1, f"more than one reply after the data: {texts}")

    def test_reject_policy(self):
        for name, ending in ENDINGS.items():
            with self.subTest(ending=name):
                d = self.start_daemon()
                c, replies = self.probe(d, ending)
                self.assert_no_spoof(d, replies)
                texts = [r.raw for r in replies]
                if name in NO_BARE_LINE_END and replies and replies[0].code == 250:
                    [m] = self.assertDelivered(d, 1)
                    self.assertIn(b"MAIL FROM:<spoof@evil.test>", m.content)
                    self.assertIn(b"smuggled", m.content)
                    continue
                self.assertEqual(len(replies), 1, texts)
                r = replies[0]
                self.assertGreaterEqual(r.code, 500, texts)
                self.assertLess(r.code, 600, texts)
                self.assertEqual(r.esc, "5.5.2", texts)
                self.assertClosed(c)
                self.assertDelivered(d, 0)
                # The daemon goes on serving honest clients.
                c2 = self.client(d)
                c2.ehlo()
                self.assertEqual(c2.send_mail(body=b"Subject: honest\r\n\r\nx\r\n").code, 250)
                self.assertDelivered(d, 1)

    def test_normalize_policy(self):
        for name, ending in ENDINGS.items():
            with self.subTest(ending=name):
                d = self.start_daemon(settings={"bare_lf": "normalize",
                                                "bare_lf_normalize_from": ["127.0.0.0/8"]})
                c, replies = self.probe(d, ending)
                self.assert_no_spoof(d, replies)
                texts = [r.raw for r in replies]
                self.assertEqual([r.code for r in replies], [250], texts)
                [m] = self.assertDelivered(d, 1)
                self.assertIn(b"MAIL FROM:<spoof@evil.test>", m.content)
                self.assertIn(b"smuggled", m.content)
                self.assertIn(b"hello", m.content)
                # Normalized: no bare LF is left in what was stored (a bare CR may pass through).
                stored = m.content if m.crlf else m.content.replace(b"\n", b"\r\n")
                self.assertNotRegex(stored, rb"(?<!\r)\n")
                c.cmd("QUIT", 221)

    def test_normalize_only_for_listed_clients(self):
        # normalize for 192.0.2.0/24 only: a loopback client still gets the strict policy.
        d = self.start_daemon(settings={"bare_lf": "normalize",
                                        "bare_lf_normalize_from": ["192.0.2.0/24"]})
        c, replies = self.probe(d, b"\n.\n")
        self.assert_no_spoof(d, replies)
        self.assertEqual(len(replies), 1, [r.raw for r in replies])
        self.assertEqual(replies[0].esc, "5.5.2", replies[0].raw)
        self.assertClosed(c)
        self.assertDelivered(d, 0)

    def test_bare_lf_in_middle_of_message(self):
        # Not an end-of-data attempt at all: a bare LF inside a line is still refused.
        d = self.start_daemon()
        c = self.client(d)
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.test>", 250)
        c.cmd("RCPT TO:<a@example.test>", 250)
        c.cmd("DATA", 354)
        c.send(b"Subject: lf\r\n\r\nline one\nline two\r\n.\r\n")
        r = c.read_reply()
        self.assertTrue(500 <= r.code < 600 and r.esc == "5.5.2", r.raw)
        self.assertClosed(c)
        self.assertDelivered(d, 0)


if __name__ == "__main__":
    unittest.main()

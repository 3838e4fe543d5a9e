"""test_rspamd.py - client -> asmtpd (rspamd) -> a real rspamd on loopback.

One rspamd (rspamd_support.Rspamd: a configuration written from scratch, no network, no redis,
test rules keyed on the Subject) serves the whole class; rspamd's own answer to the same message
is the oracle where a score matters. GTUBE (rspamd's reject) is refused with 550 5.7.1 and
rspamd's smtp_message, nothing queued; a plain message is queued with X-Rspamd-Score/Bar
(add_headers always); the add header action adds Haraka's three headers and drops a forged one;
rewrite subject delivers rspamd's new Subject; rspamd's milter block adds and removes headers;
greylist answers 451 4.7.1 unless disabled; rspamd stopped or silent means accept and log by
default, 451 4.3.0 with defer.error/defer.timeout; loopback clients are skipped unless
check.local_ip; the Unix socket works as the TCP port does.
Skipped, with the reason, only when rspamd is not installed (scripts/bootstrap installs it).
Owner: content scanning plugins (issue 13).
"""

import json
import socket
import time
import unittest

from harness import Daemon, E2ETestCase, dot_stuff, free_port
from rspamd_support import Rspamd, rspamd_unavailable
from scan_support import GTUBE, header_fields

WHY_NOT = rspamd_unavailable()


def message(subject, extra=b"", body=b"Shall we meet at noon at the usual place?\r\n"):
    return (b"From: Alice <alice@example.org>\r\nTo: bob@example.test\r\nSubject: " + subject + b"\r\n" + extra +
            b"Date: Wed, 02 Dec 2026 12:00:00 +0000\r\nMessage-ID: <m.1@example.org>\r\n\r\n" + body)


PLAIN = message(b"lunch")
SPAM = message(b"offer", body=GTUBE + b"\r\n")


def rspamd_json(http_reply: bytes):
    return json.loads(http_reply.split(b"\r\n\r\n", 1)[1])


@unittest.skipIf(WHY_NOT is not None, WHY_NOT or "")
class RspamdTest(E2ETestCase):

    @classmethod
    def setUpClass(cls):
        cls.rspamd = Rspamd()
        try:
            cls.rspamd.start()
        except Exception:
            cls.rspamd.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.rspamd.cleanup()

    def daemon(self, *args, at=None, plugins_before=(), files=None):
        host, port = at or self.rspamd.hop
        line = " ".join(["rspamd", "host", host, "port", str(port), "check.local_ip", "true"] + list(args))
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

    def test_gtube_is_refused_with_550_and_not_queued(self):
        oracle = rspamd_json(self.rspamd.check(SPAM))
        self.assertEqual(oracle["action"], "reject")
        d = self.daemon()
        r = self.send(d, SPAM)
        self.assertEqual((r.code, r.esc), (550, "5.7.1"), r.raw)
        self.assertIn(oracle["messages"]["smtp_message"], r.text)
        self.assertDelivered(d, 0)
        self.assertRegex(d.stderr_text(), r"rspamd: reject, score=\S+ required=15 symbols=\S*GTUBE.*; refused")

    def test_plain_message_passes_with_the_score_header(self):
        oracle = rspamd_json(self.rspamd.check(PLAIN))
        self.assertEqual(oracle["action"], "no action")
        d = self.daemon("add_headers", "always")
        r = self.send(d, PLAIN)
        self.assertEqual(r.code, 250, r.raw)
        [m] = self.assertDelivered(d, 1)
        self.assertEqual(header_fields(m.raw, "X-Rspamd-Score"), ["0"])
        self.assertEqual(header_fields(m.raw, "X-Rspamd-Bar"), ["/"])
        self.assertEqual(header_fields(m.raw, "X-Rspamd-Report"), [])   # no symbol with a score
        self.assertTrue(m.raw.endswith(m.stored_form(PLAIN)))
        self.assertIn("rspamd: no action, score=0 required=15", d.stderr_text())
        # Haraka's default (add_headers sometimes): nothing added for "no action".
        d2 = self.daemon()
        self.assertEqual(self.send(d2, PLAIN).code, 250)
        [m] = self.assertDelivered(d2, 1)
        self.assertEqual(header_fields(m.raw, "X-Rspamd-Score"), [])

    def test_add_header_action_adds_harakas_headers(self):
        content = message(b"asmtpd-add-header", extra=b"X-Rspamd-Score: -50\r\n")
        self.assertEqual(rspamd_json(self.rspamd.check(content))["action"], "add header")
        d = self.daemon()
        r = self.send(d, content)
        self.assertEqual(r.code, 250, r.raw)
        [m] = self.assertDelivered(d, 1)
        self.assertEqual(header_fields(m.raw, "X-Rspamd-Score"), ["6.5"])   # the forged one is gone
        self.assertEqual(header_fields(m.raw, "X-Rspamd-Bar"), ["++++++"])
        self.assertEqual(header_fields(m.raw, "X-Rspamd-Report"), ["ASMTPD_ADD(6.5)"])
        self.assertIn("; headers added", d.stderr_text())

    def test_rewrite_subject_shows_in_the_delivered_message(self):
        content = message(b"asmtpd-rewrite now")
        oracle = rspamd_json(self.rspamd.check(content))
        self.assertEqual(oracle["action"], "rewrite subject")
        d = self.daemon()
        r = self.send(d, content)
        self.assertEqual(r.code, 250, r.raw)
        [m] = self.assertDelivered(d, 1)
        self.assertEqual(header_fields(m.raw, "Subject"), [oracle["subject"]])
        self.assertEqual(oracle["subject"], "***SPAM*** asmtpd-rewrite now")
        self.assertEqual(header_fields(m.raw, "X-Rspamd-Score"), ["9"])

    def test_milter_headers_are_added_and_removed(self):
        content = message(b"asmtpd-milter", extra=b"X-Remove-Me: please\r\n")
        d = self.daemon()
        r = self.send(d, content)
        self.assertEqual(r.code, 250, r.raw)
        [m] = self.assertDelivered(d, 1)
        self.assertEqual(header_fields(m.raw, "X-Remove-Me"), [])
        self.assertEqual(header_fields(m.raw, "X-Asmtpd-Milter"), ["added by rspamd"])
        self.assertEqual(header_fields(m.raw, "X-Two"), ["one", "two"])
        d2 = self.daemon("rmilter_headers.enabled", "false")
        self.assertEqual(self.send(d2, content).code, 250)
        [m] = self.assertDelivered(d2, 1)
        self.assertEqual(header_fields(m.raw, "X-Remove-Me"), ["please"])
        self.assertEqual(header_fields(m.raw, "X-Asmtpd-Milter"), [])

    def test_greylist_answers_451_unless_disabled(self):
        content = message(b"asmtpd-greylist")
        self.assertEqual(rspamd_json(self.rspamd.check(content))["action"], "greylist")
        d = self.daemon()
        r = self.send(d, content)
        self.assertEqual((r.code, r.esc), (451, "4.7.1"), r.raw)
        self.assertDelivered(d, 0)
        d2 = self.daemon("greylist.enabled", "false")
        self.assertEqual(self.send(d2, content).code, 250)

    def test_unix_socket(self):
        d = self.start_daemon(plugins=[f"rspamd unix_socket {self.rspamd.socket_path} check.local_ip true",
                                       "rcpt_ok", "queue/maildir {maildir}"])
        r = self.send(d, SPAM)
        self.assertEqual((r.code, r.esc), (550, "5.7.1"), r.raw)

    def test_loopback_clients_are_skipped_by_default(self):
        d = self.start_daemon(plugins=[f"rspamd host 127.0.0.1 port {self.rspamd.port}", "rcpt_ok",
                                       "queue/maildir {maildir}"])
        r = self.send(d, SPAM)
        self.assertEqual(r.code, 250, r.raw)
        self.assertIn("rspamd: skip, local_ip", d.stderr_text())

    def test_rspamd_stopped_accepts_by_default_and_defers_on_request(self):
        stopped = ("127.0.0.1", free_port())
        d = self.daemon(at=stopped)
        r = self.send(d, SPAM)
        self.assertEqual(r.code, 250, r.raw)
        [m] = self.assertDelivered(d, 1)
        self.assertEqual(header_fields(m.raw, "X-Rspamd-Score"), [])
        self.assertRegex(d.stderr_text(), r"rspamd: error, 127\.0\.0\.1:\d+: .*; accepted unscanned")
        d2 = self.daemon("defer.error", "true", at=stopped)
        r = self.send(d2, PLAIN)
        self.assertEqual((r.code, r.esc), (451, "4.3.0"), r.raw)
        self.assertIn("Rspamd scan error", r.text)
        self.assertDelivered(d2, 0)

    def test_silent_rspamd_times_out_into_the_fail_mode(self):
        with socket.socket() as mute:
            mute.bind(("127.0.0.1", 0))
            mute.listen(8)
            at = mute.getsockname()
            d = self.daemon("timeout", "0.5", at=at)
            t0 = time.monotonic()
            r = self.send(d, PLAIN)
            self.assertEqual(r.code, 250, r.raw)
            self.assertLess(time.monotonic() - t0, 10)
            self.assertIn("no answer within 500 ms; accepted unscanned", d.stderr_text())
            d2 = self.daemon("timeout", "0.5", "defer.timeout", "true", at=at)
            r = self.send(d2, PLAIN)
            self.assertEqual((r.code, r.esc), (451, "4.3.0"), r.raw)
            self.assertIn("Rspamd scan timeout", r.text)

    def test_bad_arguments_stop_the_start(self):
        for args in (["port", "x"], ["host", "rspamd.example"], ["add_headers", "often"], ["reject.spam", "maybe"]):
            with self.subTest(args=args):
                d = Daemon(plugins=[" ".join(["rspamd"] + args), "rcpt_ok", "queue/maildir {maildir}"])
                try:
                    d.start(wait=False)
                    self.assertIsNotNone(d.wait(15), "asmtpd started with rspamd " + " ".join(args))
                    self.assertNotEqual(d.returncode, 0)
                    self.assertIn("rspamd", d.stderr_text())
                finally:
                    d.kill()
                    d.cleanup()


if __name__ == "__main__":
    unittest.main()

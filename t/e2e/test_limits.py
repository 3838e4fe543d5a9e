"""test_limits.py - line lengths, endless lines, early talkers, per-IP connection limit, idle timeout.

Owner: tooling (t/e2e/).
"""

import time
import unittest

from harness import E2ETestCase, Client, ConnectionClosed


class LimitsTest(E2ETestCase):

    def test_command_line_length(self):
        d = self.start_daemon()
        c = self.client(d)
        c.ehlo()
        # 512 octets including CRLF is the RFC 5321 maximum and must work.
        c.cmd("NOOP " + "x" * (512 - len("NOOP ") - 2), 250)
        c.cmd("NOOP " + "x" * (513 - len("NOOP ") - 2), 500, "5.5.2")
        r = c.cmd("MAIL FROM:<" + "a" * 600 + "@example.test>", 500, "5.5.2")
        # The long line did not leave a tail that runs as a command.
        c.cmd("NOOP", 250)
        c.cmd("MAIL FROM:<s@example.test>", 250)
        self.assertIsNotNone(r)

    def test_endless_line_without_lf(self):
        d = self.start_daemon()
        c = self.client(d, timeout=30)
        c.ehlo()
        base = d.vm_hwm_kb()
        sender = c.send_in_thread(b"X" * (10 * 1024 * 1024))
        sender.join(60)
        self.assertFalse(sender.is_alive(), "sending 10 MB without LF did not finish")
        closed_early = sender.error is not None
        if not closed_early:
            try:
                c.send(b"\r\nNOOP\r\n")
            except OSError:
                closed_early = True
        replies = []
        while True:
            try:
                r = c.read_reply(timeout=10)
            except ConnectionClosed:
                break
            replies.append(r)
            if r.code == 250:
                break
        self.assertTrue(replies, "no reply at all to a 10 MB line")
        self.assertEqual(replies[0].code, 500, replies[0].raw)
        self.assertEqual(replies[0].esc, "5.5.2", replies[0].raw)
        # Either the connection was closed, or it is usable again (NOOP answered 250).
        if replies[-1].code == 250:
            self.assertTrue(all(r.code == 500 for r in replies[:-1]), [r.raw for r in replies])
        else:
            self.assertClosed(c)
        # A 10 MB line must not be held: what it adds to the daemon's peak stays well under it.
        grown = d.vm_hwm_kb() - base
        self.assertLess(grown, 8 * 1024, f"peak RSS grew {grown} KiB (from {base} KiB)")
        c2 = self.client(d)
        c2.ehlo()

    def test_earlytalker_refused(self):
        d = self.start_daemon(plugins=["check_earlytalker wait 1", "rcpt_ok", "queue/maildir {maildir}"])
        c = self.client(d, greet=False)
        c.send("EHLO early.e2e.test\r\n")
        r = c.read_reply(timeout=10)
        self.assertEqual(r.code, 554, r.raw)
        self.assertClosed(c)
        self.assertDelivered(d, 0)

    def test_earlytalker_polite_client_waits(self):
        d = self.start_daemon(plugins=["check_earlytalker wait 1", "rcpt_ok", "queue/maildir {maildir}"])
        t0 = time.monotonic()
        c = self.client(d, greet=False)
        r = c.read_reply(timeout=10)
        waited = time.monotonic() - t0
        self.assertEqual(r.code, 220, r.raw)
        self.assertGreaterEqual(waited, 0.9, "greeting came before the earlytalker wait")
        self.assertLess(waited, 5.0)
        c.ehlo()
        c.send_mail()
        self.assertDelivered(d, 1)

    def test_max_connections_per_ip(self):
        d = self.start_daemon(plugins=["hosts_allow", "rcpt_ok", "queue/maildir {maildir}"],
                              settings={"limits": {"max_connections_per_ip": 3}})
        held = [self.client(d) for _ in range(3)]
        for c in held:
            c.ehlo()
        fourth = self.client(d, greet=False)
        r = fourth.read_reply()
        self.assertEqual(r.code, 421, r.raw)
        self.assertClosed(fourth)
        # The three sessions are unharmed; once one leaves, a new one is welcome.
        for c in held:
            c.cmd("NOOP", 250)
        held[0].cmd("QUIT", 221)
        self.assertClosed(held[0])
        deadline = time.monotonic() + 5
        while True:
            c = Client(d.port, greet=False)
            self.addCleanup(c.close)
            r = c.read_reply()
            if r.code == 220 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertEqual(r.code, 220, r.raw)

    def test_hosts_allow_file(self):
        d = self.start_daemon(plugins=["hosts_allow", "rcpt_ok", "queue/maildir {maildir}"],
                              files={"hosts_allow": "127.0.0.0/8 DENY Go away\n"})
        c = self.client(d, greet=False)
        r = c.read_reply()
        self.assertEqual(r.code, 554, r.raw)
        self.assertIn("Go away", r.text)
        self.assertClosed(c)

    def test_idle_timeout(self):
        d = self.start_daemon(settings={"timeouts": {"command": 2, "connect": 2}})
        c = self.client(d)
        c.ehlo()
        t0 = time.monotonic()
        r = c.read_reply(timeout=10)
        waited = time.monotonic() - t0
        self.assertEqual(r.code, 421, r.raw)
        self.assertGreaterEqual(waited, 1.5)
        self.assertLess(waited, 6)
        self.assertClosed(c)

    def test_connect_timeout_before_first_command(self):
        d = self.start_daemon(settings={"timeouts": {"connect": 2}})
        c = self.client(d)
        t0 = time.monotonic()
        r = c.read_reply(timeout=10)
        self.assertEqual(r.code, 421, r.raw)
        self.assertGreaterEqual(time.monotonic() - t0, 1.5)
        self.assertClosed(c)


if __name__ == "__main__":
    unittest.main()

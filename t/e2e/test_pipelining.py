"""test_pipelining.py - RFC 2920: commands sent in one write are answered in order, none lost.

Owner: tooling (t/e2e/).
"""

import time
import unittest

from harness import E2ETestCase


class PipeliningTest(E2ETestCase):

    def test_envelope_in_one_write(self):
        d = self.start_daemon()
        c = self.client(d)
        c.ehlo()
        c.send("MAIL FROM:<s@example.test>\r\nRCPT TO:<a@example.test>\r\n"
               "RCPT TO:<x@foreign.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n")
        self.assertEqual([c.read_reply().code for _ in range(5)], [250, 250, 550, 250, 354])
        c.send(b"Subject: pipelined\r\n\r\nbody\r\n.\r\n")
        c.expect(250)
        c.cmd("QUIT", 221)
        self.assertDelivered(d, 1)

    def test_message_and_quit_in_one_write(self):
        # RFC 2920 §3.1: DATA ends a group; after the 354 the content may start the next group,
        # so the whole message, its final dot and QUIT go out in one write.
        d = self.start_daemon()
        c = self.client(d)
        msg = b"Subject: one write\r\n\r\nall at once\r\n"
        c.send(b"EHLO client.e2e.test\r\n")
        c.expect(250)
        c.send(b"MAIL FROM:<s@example.test>\r\nRCPT TO:<a@example.test>\r\nDATA\r\n")
        self.assertEqual([c.read_reply().code for _ in range(3)], [250, 250, 354])
        c.send(msg + b".\r\nQUIT\r\n")
        c.expect(250)
        c.expect(221)
        self.assertClosed(c)
        [m] = self.assertDelivered(d, 1)
        self.assertEqual(m.content, m.stored_form(msg))

    def test_two_messages_back_to_back(self):
        d = self.start_daemon()
        c = self.client(d)
        c.ehlo()
        one = b"Subject: first\r\n\r\n1\r\n"
        two = b"Subject: second\r\n\r\n2\r\n"
        c.send(b"MAIL FROM:<s@example.test>\r\nRCPT TO:<a@example.test>\r\nDATA\r\n")
        self.assertEqual([c.read_reply().code for _ in range(3)], [250, 250, 354])
        c.send(one + b".\r\nMAIL FROM:<t@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n")
        self.assertEqual([c.read_reply().code for _ in range(4)], [250, 250, 250, 354])
        c.send(two + b".\r\nQUIT\r\n")
        self.assertEqual([c.read_reply().code for _ in range(2)], [250, 221])
        msgs = self.assertDelivered(d, 2)
        self.assertEqual(sorted(m.content for m in msgs),
                         sorted([msgs[0].stored_form(one), msgs[0].stored_form(two)]))

    def test_content_before_354_never_runs_as_commands(self):
        # "Transaction stuffing": the body goes out with DATA, before the 354, and holds
        # commands. Either the daemon refuses the DATA (5xx, close, nothing queued), or it takes
        # everything up to the dot as ONE message; the inner MAIL never gets its own 250.
        d = self.start_daemon()
        c = self.client(d)
        c.ehlo()
        c.send(b"MAIL FROM:<s@example.test>\r\nRCPT TO:<a@example.test>\r\nDATA\r\n"
               b"Subject: stuffed\r\n\r\nMAIL FROM:<spoof@evil.test>\r\nRCPT TO:<a@example.test>\r\n"
               b".\r\nQUIT\r\n")
        replies = []
        while True:
            try:
                replies.append(c.read_reply(timeout=10 if len(replies) < 3 else 1))
            except AssertionError:
                break
        codes = [r.code for r in replies]
        self.assertEqual(codes[:2], [250, 250], codes)
        if codes[2] == 354:
            self.assertEqual(codes, [250, 250, 354, 250, 221])
            [m] = self.assertDelivered(d, 1)
            self.assertIn(b"MAIL FROM:<spoof@evil.test>", m.content)
        else:
            self.assertEqual(len(codes), 3, codes)
            self.assertTrue(500 <= codes[2] < 600, codes)
            self.assertClosed(c)
            self.assertDelivered(d, 0)

    def _noops(self, d, n):
        c = self.client(d)
        c.ehlo()
        sender = c.send_in_thread(b"NOOP\r\n" * n + b"QUIT\r\n")
        codes = []
        for _ in range(n):
            codes.append(c.read_reply().code)
        c.expect(221)
        sender.join(10)
        self.assertIsNone(sender.error)
        self.assertEqual(codes, [250] * n)
        self.assertClosed(c)

    def test_1000_pipelined_noops(self):
        d = self.start_daemon()
        self._noops(d, 1000)

    def test_1000_noops_past_pipeline_bytes(self):
        # 6000 octets of input against a 1 KiB backlog: the daemon must stop reading, answer,
        # and read on; every NOOP answered once and in order.
        d = self.start_daemon(settings={"limits": {"pipeline_bytes": 1024}})
        self._noops(d, 1000)

    def test_pipelined_input_memory_bounded(self):
        # 20000 NOOPs (120 KB) read slowly by the client: replies back up, the daemon must stop
        # reading rather than buffer without bound. Its peak RSS stays small.
        # No ASan quarantine for this daemon: freed memory is reused at once, so peak RSS is
        # live memory. With the suite's 32 MB quarantine every byte freed per command stayed
        # resident, and the figure measured allocation churn (it crossed the bound when a
        # command's allocations grew), not buffering.
        d = self.start_daemon(settings={"limits": {"pipeline_bytes": 4096}},
                              env={"ASAN_OPTIONS": "detect_leaks=1:quarantine_size_mb=0"})
        c = self.client(d)
        c.ehlo()
        # Bound the growth over a warmed-up daemon, not the ASan daemon's absolute size (which
        # grows with the linked code): buffering the whole flight would add its replies and input.
        c.cmd("NOOP", 250)
        base = d.vm_hwm_kb()
        n = 20000
        sender = c.send_in_thread(b"NOOP\r\n" * n + b"QUIT\r\n")
        time.sleep(0.5)
        got = 0
        while got < n:
            r = c.read_reply()
            self.assertEqual(r.code, 250)
            got += 1
        c.expect(221)
        sender.join(10)
        self.assertIsNone(sender.error)
        grown = d.vm_hwm_kb() - base
        self.assertLess(grown, 8 * 1024, f"peak RSS grew {grown} KiB (from {base} KiB)")


if __name__ == "__main__":
    unittest.main()

"""test_data.py - the DATA phase: dot transparency, sizes, 8-bit, big messages, cut connections.

Owner: tooling (t/e2e/).
"""

import os
import time
import unittest

from harness import E2ETestCase, dot_stuff


class DataTest(E2ETestCase):

    def deliver_raw(self, d, wire, mail_params=""):
        """Sends `wire` (already stuffed, without the final dot) and returns the final reply."""
        c = self.client(d)
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.test>" + (" " + mail_params if mail_params else ""), 250)
        c.cmd("RCPT TO:<a@example.test>", 250)
        c.cmd("DATA", 354)
        c.send(wire + b".\r\n")
        r = c.read_reply()
        c.cmd("QUIT", 221)
        return r

    def test_dot_unstuffing_round_trip(self):
        d = self.start_daemon()
        content = (b"Subject: dots\r\n\r\n"
                   b".\r\n"
                   b"..\r\n"
                   b"...\r\n"
                   b".leading\r\n"
                   b"..two\r\n"
                   b" .not at start\r\n"
                   b"end.\r\n"
                   b".\r\n")
        wire = dot_stuff(content)
        self.assertIn(b"\r\n..\r\n", wire)
        r = self.deliver_raw(d, wire)
        self.assertEqual(r.code, 250, r.raw)
        [m] = self.assertDelivered(d, 1)
        self.assertEqual(m.content, m.stored_form(content))

    def test_dot_line_variants_do_not_end_data(self):
        d = self.start_daemon()
        # ". \r\n" and ".x\r\n" (unstuffed by a sloppy client) are data, not the end.
        wire = b"Subject: almost ends\r\n\r\n. \r\n.x\r\nlast\r\n"
        r = self.deliver_raw(d, wire)
        self.assertEqual(r.code, 250, r.raw)
        [m] = self.assertDelivered(d, 1)
        self.assertEqual(m.content, m.stored_form(b"Subject: almost ends\r\n\r\n \r\nx\r\nlast\r\n"))

    def test_empty_message(self):
        d = self.start_daemon()
        r = self.deliver_raw(d, b"")
        self.assertEqual(r.code, 250, r.raw)
        [m] = self.assertDelivered(d, 1)
        self.assertIsNotNone(m.received)
        self.assertEqual(m.content, b"")

    def test_eight_bit_body(self):
        d = self.start_daemon()
        high = bytes(range(0x80, 0x100))
        content = b"Subject: 8bit\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + high + b"\r\n" + \
            "Grüße, ½ € 日本\r\n".encode() + b"\t\x01\x7f ctl\r\n"
        r = self.deliver_raw(d, content, mail_params="BODY=8BITMIME")
        self.assertEqual(r.code, 250, r.raw)
        [m] = self.assertDelivered(d, 1)
        self.assertEqual(m.content, m.stored_form(content))

    @staticmethod
    def _content_of_size(n):
        """A CRLF message of exactly n octets (n >= 40), lines of at most 80 octets."""
        out = bytearray(b"Subject: size\r\n\r\n")
        while n - len(out) > 100:
            out += b"x" * 78 + b"\r\n"
        out += b"y" * (n - len(out) - 2) + b"\r\n"
        assert len(out) == n, (len(out), n)
        return bytes(out)

    def test_databytes_exact_and_one_over(self):
        limit = 2000
        d = self.start_daemon(settings={"limits": {"databytes": limit}})
        exact = self._content_of_size(limit)
        r = self.deliver_raw(d, exact)
        self.assertEqual(r.code, 250, r.raw)
        [m] = self.assertDelivered(d, 1)
        self.assertEqual(m.content, m.stored_form(exact))

        over = self._content_of_size(limit + 1)
        c = self.client(d)
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.test>", 250)
        c.cmd("RCPT TO:<a@example.test>", 250)
        c.cmd("DATA", 354)
        c.send(over)
        # The answer comes only after the final dot, never in the middle of the data.
        self.assertEqual(c.drain(0.3), b"")
        c.send(b".\r\n")
        c.expect(552, "5.3.4")
        c.cmd("NOOP", 250)      # the session survives and is back in command state
        c.cmd("RCPT TO:<a@example.test>", 503)
        self.assertDelivered(d, 1)

    def test_large_message_spooled_and_byte_exact(self):
        d = self.start_daemon(settings={"limits": {"databytes": 12 * 1024 * 1024}})
        # 10 MiB of varied lines, some starting with dots.
        rnd = os.urandom(1024 * 1024).hex().encode()   # 2 MiB hex digits
        lines = []
        size = 0
        i = 0
        while size < 10 * 1024 * 1024:
            start = (i * 997) % (len(rnd) - 1000)
            ln = (b"." if i % 50 == 0 else b"") + rnd[start:start + 40 + i % 900]
            lines.append(ln)
            size += len(ln) + 2
            i += 1
        content = b"Subject: big\r\n\r\n" + b"\r\n".join(lines) + b"\r\n"
        c = self.client(d, timeout=60)
        c.ehlo()
        # The daemon's own size (ASan shadow, every plugin linked in) grows with the code; what
        # this test bounds is what one 10 MiB message adds on top of a warmed-up daemon.
        c.send_mail(body=b"Subject: warm-up\r\n\r\nsmall\r\n")
        base = d.vm_hwm_kb()
        c.cmd(f"MAIL FROM:<s@example.test> SIZE={len(content)}", 250)
        c.cmd("RCPT TO:<a@example.test>", 250)
        c.cmd("DATA", 354)
        sender = c.send_in_thread(dot_stuff(content) + b".\r\n")
        c.expect(250, timeout=120)
        sender.join(10)
        self.assertIsNone(sender.error)
        hwm = d.vm_hwm_kb()
        c.cmd("QUIT", 221)
        msgs = self.assertDelivered(d, 2)
        [m] = [x for x in msgs if b"Subject: big" in x.content]
        self.assertEqual(len(m.content), len(m.stored_form(content)))
        self.assertTrue(m.content == m.stored_form(content), "10 MiB message differs after delivery")
        self.assertLess(hwm - base, 25 * 1024,
                        f"daemon peak RSS grew {hwm - base} KiB (from {base} KiB) for a 10 MiB message")

    def test_long_data_lines_rejected(self):
        d = self.start_daemon(settings={"limits": {"data_line_length": 1000}})
        ok = b"Subject: lines\r\n\r\n" + b"a" * 998 + b"\r\n"       # 1000 with CRLF: allowed
        r = self.deliver_raw(d, ok)
        self.assertEqual(r.code, 250, r.raw)
        self.assertDelivered(d, 1)
        bad = b"Subject: lines\r\n\r\n" + b"b" * 999 + b"\r\nafter\r\n"   # 1001
        c = self.client(d)
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.test>", 250)
        c.cmd("RCPT TO:<a@example.test>", 250)
        c.cmd("DATA", 354)
        c.send(bad + b".\r\n")
        try:
            r = c.read_reply()
            self.assertGreaterEqual(r.code, 500, r.raw)
            self.assertLess(r.code, 600, r.raw)
        except AssertionError as e:
            if "connection closed" not in str(e):
                raise
        self.assertDelivered(d, 1)

    def test_disconnect_mid_data(self):
        d = self.start_daemon(settings={"limits": {"memory_spool": 4096}})
        c = self.client(d)
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.test>", 250)
        c.cmd("RCPT TO:<a@example.test>", 250)
        c.cmd("DATA", 354)
        c.send(b"Subject: cut\r\n\r\n" + (b"z" * 70 + b"\r\n") * 3000)   # past memory_spool
        time.sleep(0.3)
        c.close()
        time.sleep(0.5)
        self.assertDelivered(d, 0)
        # The daemon serves the next client, and left nothing behind.
        c2 = self.client(d)
        c2.ehlo()
        c2.send_mail(body=b"Subject: next\r\n\r\nok\r\n")
        c2.cmd("QUIT", 221)
        self.assertDelivered(d, 1)
        deadline = time.monotonic() + 5
        while True:
            leftovers = [p for p in d.spool_dir.rglob("*") if p.is_file()] + d.maildir.tmp_files()
            if not leftovers or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertEqual(leftovers, [], "spool or maildir tmp/ files left after a cut DATA")


if __name__ == "__main__":
    unittest.main()

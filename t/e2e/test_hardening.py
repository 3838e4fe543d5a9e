"""test_hardening.py - issue 17, written as an attacker would try it: pipelined input after a
refused DATA, slow DATA and slow command lines, a full disk, an oversized header block, NUL in
every command, a prompt exit after SIGTERM, and running out of file descriptors.

Each test drives the real daemon over loopback with raw writes (one flight for a pipelined
attack, timed trickles for the slow ones) and asserts the replies, the close, and what reached
the maildir. Owner: tooling (t/e2e/).
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

from harness import E2ETestCase, Client
from spp_support import SppTestCase, say

# The attack of the issue: a refused RCPT, so DATA is refused, and then a whole second
# transaction pipelined in the same write. Before the fix the replies were
# 250 550 503 250 250 250 354 and the message was queued.
SMUGGLE_TAIL = (b"RSET\r\n"
                b"MAIL FROM:<evil@evil.example>\r\n"
                b"RCPT TO:<b@example.test>\r\n"
                b"DATA\r\n"
                b"From: evil@evil.example\r\nSubject: smuggled\r\n\r\nowned\r\n.\r\n")


def open_data(c):
    """EHLO, one sender, one recipient, and the 354."""
    c.ehlo()
    c.cmd("MAIL FROM:<s@example.test>", 250)
    c.cmd("RCPT TO:<a@example.test>", 250)
    c.cmd("DATA", 354)


def replies_until_closed(c, first_timeout=5):
    out = []
    while True:
        try:
            out.append(c.read_reply(timeout=first_timeout if not out else 1))
        except AssertionError:
            return out


class PipelinedAfterRefusedDataTest(E2ETestCase):

    def assert_smuggling_refused(self, d, flight, expected_codes):
        c = self.client(d)
        c.ehlo()
        c.send(flight)
        replies = replies_until_closed(c)
        codes = [r.code for r in replies]
        self.assertEqual(codes, expected_codes + [554], [r.raw for r in replies])
        self.assertEqual(replies[-1].esc, "5.5.0", replies[-1].raw)
        self.assertClosed(c)
        self.assertDelivered(d, 0)

    def test_refused_rcpt_then_data_then_new_transaction(self):
        d = self.start_daemon()
        flight = (b"MAIL FROM:<a@example.org>\r\n"
                  b"RCPT TO:<nobody@elsewhere.org>\r\n"
                  b"DATA\r\n" + SMUGGLE_TAIL)
        self.assert_smuggling_refused(d, flight, [250, 550])

    def test_data_without_mail(self):
        d = self.start_daemon()
        self.assert_smuggling_refused(d, b"DATA\r\n" + SMUGGLE_TAIL, [])

    def test_data_with_an_argument(self):
        d = self.start_daemon()
        flight = (b"MAIL FROM:<a@example.org>\r\n"
                  b"RCPT TO:<a@example.test>\r\n"
                  b"DATA now\r\n" + SMUGGLE_TAIL)
        self.assert_smuggling_refused(d, flight, [250, 250])

    def test_split_writes_still_one_flight(self):
        # The DATA line and what follows arrive in separate segments, before our reply.
        d = self.start_daemon()
        c = self.client(d)
        c.ehlo()
        c.send(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<nobody@elsewhere.org>\r\nDA")
        c.send(b"TA\r\nRS")
        c.send(SMUGGLE_TAIL[2:])
        replies = replies_until_closed(c)
        self.assertEqual([r.code for r in replies], [250, 550, 554], [r.raw for r in replies])
        self.assertClosed(c)
        self.assertDelivered(d, 0)

    def test_a_refused_data_alone_keeps_the_session(self):
        # No false positive: a client that waits for each reply is served as before.
        d = self.start_daemon()
        c = self.client(d)
        c.ehlo()
        c.cmd("DATA", 503, "5.5.1")
        c.cmd("MAIL FROM:<a@example.org>", 250)
        c.cmd("RCPT TO:<a@example.test>", 250)
        c.cmd("DATA", 354)
        c.send(b"Subject: fine\r\n\r\nok\r\n.\r\n")
        c.expect(250)
        self.assertDelivered(d, 1)


class PipelinedAfterPluginRefusedDataTest(SppTestCase):

    def test_data_hook_refusal(self):
        d = self.start_spp(f"[data]\n{say('E554 5.7.1 no data for you')}\n")
        c = self.session(d)
        c.send(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<a@example.test>\r\nDATA\r\n" + SMUGGLE_TAIL)
        replies = replies_until_closed(c)
        codes = [r.code for r in replies]
        self.assertEqual(codes, [250, 250, 554], [r.raw for r in replies])
        self.assertEqual(replies[-1].esc, "5.5.0", replies[-1].raw)
        self.assertClosed(c)
        self.assertDelivered(d, 0)


class SlowClientTest(E2ETestCase):

    def trickle(self, c, data, every, until):
        """Sends data one byte at a time every `every` s until the daemon answers."""
        c.sock.settimeout(every)
        deadline = time.monotonic() + until
        for b in data:
            if time.monotonic() > deadline:
                break
            try:
                c.sock.sendall(bytes([b]))
            except OSError:
                break
            try:
                got = c.sock.recv(4096)
                if got:
                    return got
                return b""
            except socket.timeout:
                continue
        return None

    def test_data_total_deadline(self):
        d = self.start_daemon(settings={"timeouts": {"data": 30, "data_total": 3},
                                        "limits": {"data_min_rate": 0}})
        c = self.client(d)
        open_data(c)
        t0 = time.monotonic()
        got = self.trickle(c, b"Subject: slow\r\n\r\n" + b"x" * 200, every=0.25, until=15)
        waited = time.monotonic() - t0
        self.assertIsNotNone(got, "no answer while trickling")
        self.assertTrue(got.startswith(b"421 4.4.2 "), got)
        self.assertGreater(waited, 2.5)
        self.assertLess(waited, 8)
        self.assertClosed(c)
        self.assertDelivered(d, 0)
        self.assertEqual(list(d.spool_dir.iterdir()), [], "spool file left behind")
        d.wait_for_log(r"data total timeout")

    def test_data_below_minimum_rate(self):
        d = self.start_daemon(settings={"timeouts": {"data": 30, "data_grace": 1},
                                        "limits": {"data_min_rate": 1000}})
        c = self.client(d)
        open_data(c)
        t0 = time.monotonic()
        got = self.trickle(c, b"Subject: slow\r\n\r\n" + b"x" * 500, every=0.1, until=15)
        waited = time.monotonic() - t0
        self.assertIsNotNone(got)
        self.assertTrue(got.startswith(b"421 4.4.2 "), got)
        self.assertIn(b"too slow", got)
        self.assertLess(waited, 6)
        self.assertClosed(c)
        self.assertDelivered(d, 0)

    def test_fast_client_is_not_affected_by_the_rate(self):
        d = self.start_daemon(settings={"timeouts": {"data_grace": 0},
                                        "limits": {"data_min_rate": 1000}})
        c = self.client(d)
        c.ehlo()
        c.send_mail(body=b"Subject: fast\r\n\r\n" + b"y" * 300000 + b"\r\n")
        self.assertDelivered(d, 1)

    def test_command_line_trickled_byte_by_byte(self):
        d = self.start_daemon(settings={"timeouts": {"command": 2}})
        c = self.client(d)
        c.ehlo()
        t0 = time.monotonic()
        got = self.trickle(c, b"NOOP " + b"a" * 200, every=0.2, until=12)
        waited = time.monotonic() - t0
        self.assertIsNotNone(got)
        self.assertTrue(got.startswith(b"421 4.4.2 "), got)
        self.assertLess(waited, 5)
        self.assertClosed(c)


class FreeSpaceTest(E2ETestCase):

    def free_bytes(self, path):
        st = os.statvfs(path)
        return st.f_bavail * st.f_frsize

    def test_below_min_free_space_mail_gets_452(self):
        d = self.start_daemon(settings={"limits": {"min_free_space": "1"}})
        # Threshold above what the spool's filesystem has: every MAIL is refused.
        d.settings["limits"]["min_free_space"] = str(self.free_bytes(d.spool_dir) + (1 << 30))
        d.write_config()
        d.signal(signal.SIGHUP)
        d.wait_for_log(r"configuration reloaded")
        c = self.client(d)
        c.ehlo()
        r = c.cmd("MAIL FROM:<s@example.test>", 452)
        self.assertEqual(r.esc, "4.3.1", r.raw)
        c.cmd("RCPT TO:<a@example.test>", 503)
        d.wait_for_log(r"below limits.min_free_space")

    def test_size_is_counted(self):
        d = self.start_daemon(settings={"limits": {"min_free_space": "1", "databytes": 1 << 40}})
        c = self.client(d)
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.test> SIZE=1000", 250)
        c.cmd("RSET", 250)
        too_big = self.free_bytes(d.spool_dir) + (1 << 30)
        r = c.cmd(f"MAIL FROM:<s@example.test> SIZE={too_big}", 452)
        self.assertEqual(r.esc, "4.3.1", r.raw)

    def test_maildir_filesystem_is_checked(self):
        # The spool and the maildir on two filesystems (the test's temp dir and the /dev/shm
        # tmpfs); the maildir goes on the fuller one and the threshold sits between the two, so
        # only the maildir's filesystem can refuse the MAIL.
        other = Path(tempfile.mkdtemp(prefix="asmtpd-e2e-", dir="/dev/shm"))
        try:
            probe = Path(tempfile.mkdtemp(prefix="asmtpd-e2e-probe-"))
            here_free, shm_free = self.free_bytes(probe), self.free_bytes(other)
            probe.rmdir()
            self.assertGreater(abs(here_free - shm_free), 64 << 20, "both filesystems have the same room")
            maildir, spool = (other, None) if shm_free < here_free else (None, other)
            threshold = (here_free + shm_free) // 2
            settings = {"limits": {"min_free_space": str(threshold)}}
            plugins = ["rcpt_ok", f"queue/maildir {maildir}" if maildir else "queue/maildir {maildir}"]
            if spool:
                settings["spool_dir"] = str(spool)
            d = self.start_daemon(plugins=plugins, settings=settings)
            c = self.client(d)
            c.ehlo()
            r = c.cmd("MAIL FROM:<s@example.test>", 452)
            self.assertEqual(r.esc, "4.3.1", r.raw)
            full = str(maildir) if maildir else str(d.maildir_path)
            self.assertIsNotNone(d.wait_for_log(re.escape(full) + r" is below limits.min_free_space"),
                                 d.stderr_tail())
        finally:
            shutil.rmtree(other, ignore_errors=True)


class HeaderLimitTest(E2ETestCase):

    def test_one_header_folded_over_a_megabyte(self):
        d = self.start_daemon()
        c = self.client(d)
        open_data(c)
        fold = b"".join(b" part%06d xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n" % i
                        for i in range(16000))
        c.send(b"Subject: big\r\nX-Big: start\r\n" + fold + b"\r\nbody\r\n.\r\n")
        r = c.expect(552, "5.3.4", timeout=20)
        self.assertIn("header", r.text)
        # The session goes on: the refusal is about this message only.
        c.send_mail(body=b"Subject: small\r\n\r\nfine\r\n")
        self.assertDelivered(d, 1)

    def test_too_many_header_lines(self):
        d = self.start_daemon(settings={"limits": {"header_lines": 50}})
        c = self.client(d)
        open_data(c)
        c.send(b"".join(b"X-H%d: v\r\n" % i for i in range(60)) + b"\r\nbody\r\n.\r\n")
        c.expect(552, "5.3.4")
        self.assertDelivered(d, 0)

    def test_a_large_body_under_a_small_header_is_fine(self):
        d = self.start_daemon(settings={"limits": {"header_bytes": 1024}})
        c = self.client(d)
        c.ehlo()
        c.send_mail(body=b"Subject: ok\r\n\r\n" + (b"z" * 998 + b"\r\n") * 1200)
        self.assertDelivered(d, 1)


class NulInCommandsTest(E2ETestCase):

    def test_nul_is_refused_in_every_command(self):
        d = self.start_daemon()
        c = self.client(d)
        c.ehlo()
        for line in (b"NOOP a\x00b", b"VRFY a\x00b", b"HELP \x00", b"RSET\x00", b"EHLO x\x00y",
                     b"MAIL FROM:<a\x00@example.test>", b"QUIT\x00"):
            with self.subTest(line=line):
                c.send(line + b"\r\n")
                r = c.read_reply()
                self.assertEqual(r.code, 501, r.raw)
                self.assertEqual(r.esc, "5.5.2", r.raw)
        c.cmd("NOOP", 250)   # the session is still usable


class PromptExitTest(E2ETestCase):

    def test_exit_right_after_the_drain_deadline(self):
        d = self.start_daemon(settings={"timeouts": {"shutdown": 1}})
        c = self.client(d)
        c.ehlo()
        d.signal(signal.SIGTERM)
        r = c.read_reply(timeout=10)
        t_reply = time.monotonic()
        self.assertEqual(r.code, 421, r.raw)
        # The client keeps its socket open and never sends its FIN.
        self.assertEqual(d.wait(10), 0)
        after = time.monotonic() - t_reply
        self.assertLess(after, 1.5, f"exit {after:.2f} s after the 421 (lingering close kept it)")
        c.close()


class DescriptorExhaustionTest(E2ETestCase):

    def test_connections_past_the_fd_limit_get_421(self):
        d = self.start_daemon(settings={"limits": {"max_connections_per_ip": 1000}})
        pid = d.proc.pid
        open_now = len(os.listdir(f"/proc/{pid}/fd"))
        orig = subprocess.run(["prlimit", "--pid", str(pid), "--nofile", "--noheadings", "--output", "SOFT,HARD"],
                              capture_output=True, text=True, check=True).stdout.split()
        subprocess.run(["prlimit", "--pid", str(pid), f"--nofile={open_now + 4}:{orig[1]}"], check=True)
        held, refused = [], []
        try:
            for _ in range(12):
                c = Client(d.port, greet=False)
                r = c.read_reply(timeout=5)
                (held if r.code == 220 else refused).append((c, r))
            self.assertGreater(len(held), 0, "nobody was served under the limit")
            self.assertGreater(len(refused), 0, "the limit was never reached")
            for c, r in refused:
                self.assertEqual(r.code, 421, r.raw)
                self.assertEqual(r.esc, "4.3.2", r.raw)
                c.wait_closed()
            for c, _ in held:
                c.cmd("QUIT", 221)
                c.close()
            # Descriptors came back: a new client is served again.
            deadline = time.monotonic() + 5
            while True:
                c = Client(d.port, greet=False)
                r = c.read_reply(timeout=5)
                if r.code == 220 or time.monotonic() > deadline:
                    break
                c.close()
                time.sleep(0.2)
            self.assertEqual(r.code, 220, r.raw)
            c.ehlo()
            c.cmd("QUIT", 221)
            c.close()
        finally:
            subprocess.run(["prlimit", "--pid", str(pid), f"--nofile={orig[0]}:{orig[1]}"], check=False)
        d.wait_for_log(r"connect from")


if __name__ == "__main__":
    unittest.main()

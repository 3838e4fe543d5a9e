"""test_limit.py - the limit plugin on both state store backends: the embedded LMDB file (the
default, shared by the workers of one daemon) and a real redis-server this test starts on
loopback (shared by two daemons).

Periods are seconds here (rate_conn 3/1s). Concurrency holds across 2 workers and, on Redis,
across 2 daemons, and is given back at disconnect; connection and recipient rates, recipients,
messages, unknown commands and errors per connection get Haraka's replies (421 4.7.0 and close,
451 4.7.1); a stopped Redis gives the documented fail mode; bad settings name their line.
The daemon's readiness probe is one connection from 127.0.0.1: the rate tests count it.
Owner: tooling (t/e2e/).
"""

import re
import shutil
import tempfile
import time
import unittest
from pathlib import Path

from harness import RUN_AS_YAML, ConnectionClosed, E2ETestCase, run_asmtpd
from redis_support import RedisServer

CHAIN_TAIL = ["rcpt_ok", "queue/maildir {maildir}"]


class LimitCase(E2ETestCase):
    def state_settings(self):
        return None

    def start(self, args="", limit=None, settings=None, **kw):
        s = {"state": self.state_settings()} if self.state_settings() else {}
        if limit is not None:
            s["limit"] = limit
        s.update(settings or {})
        return self.start_daemon(plugins=[("limit " + args).strip()] + CHAIN_TAIL, settings=s, **kw)

    def assertRefusedAtConnect(self, d, text):
        c = self.client(d, greet=False)
        r = c.read_reply()
        self.assertEqual((r.code, r.esc), (421, "4.7.0"), r.raw)
        self.assertIn(text, r.text)
        self.assertClosed(c)

    def greeted(self, d):
        c = self.client(d)
        self.assertEqual(c.greeting.code, 220)
        return c

    def wait_accepted(self, d, seconds=3):
        """A new connection is greeted again (the counter went down); returns it."""
        deadline = time.monotonic() + seconds
        while True:
            c = self.client(d, greet=False)
            r = c.read_reply()
            if r.code == 220 or time.monotonic() > deadline:
                self.assertEqual(r.code, 220, r.raw)
                return c
            c.close()
            time.sleep(0.1)


class EmbeddedBackendTest(LimitCase):

    def test_concurrency_holds_across_two_workers_and_is_given_back(self):
        d = self.start("concurrency 3", settings={"workers": 2})
        time.sleep(0.2)   # the readiness probe's count goes back (fire and forget, on the pool)
        open_ = [self.greeted(d) for _ in range(3)]
        self.assertRefusedAtConnect(d, "Too many concurrent connections")
        self.assertTrue(d.wait_for_log(r"limit: concurrency 4/3 \(limit:concurrency:127\.0\.0\.1\), disconnecting"))
        # The refused sessions gave their count back too: one QUIT frees exactly one place.
        open_[0].cmd("QUIT", 221)
        c = self.wait_accepted(d)
        c.cmd("EHLO x.test", 250)
        self.assertRefusedAtConnect(d, "Too many concurrent connections")
        # The sessions counted came from both workers (the session id's bytes 4-5 name the
        # worker; the kernel spreads connections, so this is nearly always both).
        workers = {int(i[8:10], 16) for i in re.findall(r" ([0-9a-f]{16}) .*limit: concurrency \d+/3", d.stderr_text())}
        self.assertTrue(workers <= {0, 1} and workers, workers)

    def test_rate_conn_sliding_window(self):
        d = self.start("rate_conn 3/1s")   # the readiness probe was the first
        for _ in range(2):
            self.greeted(d).cmd("QUIT", 221)
        self.assertRefusedAtConnect(d, "connection rate limit exceeded")
        time.sleep(1.1)
        self.greeted(d).cmd("QUIT", 221)

    def test_recipient_rates_by_host_sender_and_recipient(self):
        d = self.start(limit={
            "rate_rcpt_host": {"default": "3/1m"},
            "rate_rcpt_sender": {"default": "2/1m", "vip.test": "0"},
            "rate_rcpt": {"default": "0", "once@example.test": "1/1m"},
        })
        c = self.greeted(d)
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.test>", 250)
        c.cmd("RCPT TO:<once@example.test>", 250)
        r = c.cmd("RCPT TO:<once@example.test>", 451, "4.7.1")     # rate_rcpt: once a minute
        self.assertIn("rate limit exceeded", r.text)
        r = c.cmd("RCPT TO:<a@example.test>", 451, "4.7.1")        # rate_rcpt_sender: 2 a minute
        self.assertIn("rcpt rate limit exceeded", r.text)
        c.cmd("RSET", 250)
        c.cmd("MAIL FROM:<boss@vip.test>", 250)                       # 0: no limit for vip.test
        r = c.cmd("RCPT TO:<b@example.test>", 451, "4.7.1")        # but the host's 4th recipient
        self.assertIn("recipient rate limit exceeded", r.text)
        c.cmd("QUIT", 221)
        # A host over its recipient rate is refused at connect (Haraka's rate_rcpt_host_enforce).
        self.assertRefusedAtConnect(d, "recipient rate limit exceeded")

    def test_per_connection_counts_and_tarpit_delay(self):
        d = self.start("recipients 2 messages 1 unrecognized_commands 2 errors 2 tarpit_delay 0.2")
        c = self.greeted(d)
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.test>", 250)
        c.cmd("RCPT TO:<a@example.test>", 250)
        c.cmd("RCPT TO:<b@example.test>", 250)
        t0 = time.monotonic()
        r = c.cmd("RCPT TO:<c@example.test>", 451, "4.7.1")
        self.assertGreaterEqual(time.monotonic() - t0, 0.18)   # Haraka's tarpit_delay before the refusal
        self.assertIn("Too many recipient attempts", r.text)
        c.cmd("DATA", 354)
        c.send(b"Subject: t\r\n\r\nhi\r\n.\r\n")
        c.expect(250)
        self.assertDelivered(d, 1)
        c.cmd("MAIL FROM:<s@example.test>", 250)
        c.cmd("RCPT TO:<a@example.test>", 451, "4.7.1")        # still this connection's 4th

        c = self.greeted(d)
        c.ehlo()
        c.send_mail()
        c.cmd("MAIL FROM:<s@example.test>", 250)
        c.cmd("RCPT TO:<a@example.test>", 250)
        r = c.cmd("DATA", 451, "4.7.1")
        self.assertIn("Too many messages", r.text)
        self.assertDelivered(d, 2)

        c = self.greeted(d)
        c.cmd("FOO", 500)
        c.cmd("BAR", 500)
        r = c.cmd("BAZ", 421, "4.7.0")
        self.assertIn("Too many unrecognized commands", r.text)
        self.assertClosed(c)

        c = self.greeted(d)
        c.ehlo()
        c.cmd("RCPT TO:<a@example.test>", 503)
        c.cmd("DATA", 503)
        c.cmd("MAIL FROM:<bad address>", 501)
        r = c.cmd("MAIL FROM:<s@example.test>", 421, "4.7.0")
        self.assertIn("Too many errors", r.text)
        self.assertClosed(c)

    def test_settings_errors_name_their_line(self):
        tmp = Path(tempfile.mkdtemp(prefix="asmtpd-limit-"))
        self.addCleanup(shutil.rmtree, tmp, True)
        (tmp / "asmtpd.yaml").write_text(
            "hostname: mx.e2e.test\n"
            f"spool_dir: {tmp}/spool\n"
            "limit:\n"
            "  rate_conn:\n"
            "    default: 5/5x\n" + RUN_AS_YAML)
        (tmp / "plugins").write_text("limit concurrency 3\nrcpt_ok\n")
        r = run_asmtpd(["--config", str(tmp), "--check"], env={})
        self.assertNotEqual(r.returncode, 0)
        self.assertRegex(r.stderr.decode(), r"asmtpd\.yaml:5: limit\.rate_conn\.default: expected LIMIT")
        (tmp / "asmtpd.yaml").write_text(
            "hostname: mx.e2e.test\n"
            f"spool_dir: {tmp}/spool\n"
            "limit:\n"
            "  concurrency: {max: 3, '192.0.2': 10}\n"
            "  rate_conn: {default: 5/5m, '127': 0}\n" + RUN_AS_YAML)
        (tmp / "plugins").write_text("limit concurrency 3 rate_conn 10/1m\nrcpt_ok\n")
        r = run_asmtpd(["--config", str(tmp), "--check"], env={})
        self.assertEqual(r.returncode, 0, r.stderr.decode())


class RedisBackendTest(LimitCase):

    def setUp(self):
        self.redis = RedisServer().start()
        self.addCleanup(self.redis.cleanup)

    def state_settings(self):
        return {"backend": "redis", "address": self.redis.address, "prefix": "e2e:", "timeout": 1}

    def wait_given_back(self):
        deadline = time.monotonic() + 3
        while self.redis.command("GET", "e2e:limit:concurrency:127.0.0.1") != b"$1\r\n0\r\n":
            self.assertLess(time.monotonic(), deadline, "the concurrency count was not given back")
            time.sleep(0.05)

    def test_concurrency_and_rate_hold_across_two_daemons(self):
        a = self.start("concurrency 2 rate_conn 7/1m")
        b = self.start("concurrency 2 rate_conn 7/1m")
        self.wait_given_back()              # the two readiness probes left
        ca = self.greeted(a)
        cb = self.greeted(b)
        self.assertRefusedAtConnect(a, "Too many concurrent connections")
        self.assertRefusedAtConnect(b, "Too many concurrent connections")
        ca.cmd("QUIT", 221)
        cb.cmd("QUIT", 221)
        self.wait_given_back()
        # Seven connections in the minute so far (two probes, two greeted, two refused, this one).
        self.greeted(b).cmd("QUIT", 221)
        self.assertRefusedAtConnect(a, "connection rate limit exceeded")

    def test_redis_stopped_accepts_and_logs_or_defers(self):
        d = self.start("concurrency 1 rate_conn 100/1m recipients 5")
        e = self.start("concurrency 1 on_error defer timeout 0.5")
        self.redis.stop()
        c = self.greeted(d)   # accept and log
        c.ehlo()
        c.send_mail()
        self.assertTrue(d.wait_for_log(r"limit: state store unavailable: .*accepting \(on_error accept\)"))
        c = self.client(e, greet=False)
        r = c.read_reply()
        self.assertEqual((r.code, r.esc), (421, "4.3.0"), r.raw)
        self.assertClosed(c)


if __name__ == "__main__":
    unittest.main()

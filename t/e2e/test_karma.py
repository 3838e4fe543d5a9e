"""test_karma.py - the karma and naughty plugins on both state store backends: the embedded LMDB
file (the default) and a real redis-server this test starts on loopback.

Refusals come from check_badmailfrom (each refused MAIL is a deny: karma -1); an accepted message
is an ok at queue (karma +1). With `strikes 2 negative 2`: a session with one refusal is neutral,
one with two is naughty, and the second naughty session puts 127.0.0.1 in the penalty box, which
then refuses every connection, whichever of two workers takes it. A nice session is remembered
and noted at the next connect. With `reject naughty`, karma's refusal waits for naughty's hook
(rcpt). On Redis, a stopped server gives the documented fail mode (accept and log). Owner:
tooling (t/e2e/).
"""

import re
import time
import unittest

from harness import E2ETestCase
from redis_support import RedisServer

BAD = "spam@bad.test"
FILES = {"badmailfrom": BAD + "\n"}
TAIL = ["check_badmailfrom", "rcpt_ok", "queue/maildir {maildir}"]
PENALTY = "You were naughty. You cannot connect for 1.00 more days."


class KarmaCase(E2ETestCase):
    def state_settings(self):
        return None

    def start(self, karma="karma strikes 2 negative 2 reject connect", extra=(), settings=None):
        s = {"state": self.state_settings()} if self.state_settings() else {}
        s.update(settings or {})
        return self.start_daemon(plugins=[karma] + list(extra) + TAIL, files=FILES, settings=s)

    @staticmethod
    def records(d):
        """How many sessions wrote their karma (the harness's start-up probe is one)."""
        return len(re.findall(r"karma: (naughty|neutral|nice)", d.stderr_text()))

    def recorded(self, d, before):
        """Waits until one more session wrote its karma, and the write had time to land."""
        deadline = time.monotonic() + 5
        while self.records(d) <= before:
            self.assertLess(time.monotonic(), deadline, "the session wrote no karma record")
            time.sleep(0.02)
        time.sleep(0.05)   # the write is not waited for by the session

    def session(self, d, refusals=0, deliver=0, recorded=True):
        before = self.records(d)
        c = self.client(d)
        c.ehlo()
        for _ in range(refusals):
            c.cmd(f"MAIL FROM:<{BAD}>", 550)
        for _ in range(deliver):
            c.send_mail()
        c.cmd("QUIT", 221)
        if recorded:
            self.recorded(d, before)

    def refused_at_connect(self, d):
        c = self.client(d, greet=False)
        r = c.expect(554, esc="5.7.1")
        self.assertIn(PENALTY, r.text)
        self.assertClosed(c)

    def penalty_box_after_strikes(self, d, workers):
        self.session(d, refusals=2)                      # naughty, history -1 > -2
        self.session(d, refusals=1)                      # one strike of two: neutral
        self.assertTrue(d.wait_for_log(r"karma: neutral \(msg: -1, his: -1\)"))
        self.session(d, refusals=2)                      # naughty again: history -2, the box
        self.assertTrue(d.wait_for_log(r"karma: naughty, sent to penalty box for 1\.00 days \(msg: -2, his: -2\)"))
        # Whichever worker takes the connection: go on until both have refused one (the worker
        # index is bits 24-31 of the session id, core/smtp/session_ids.hpp).
        rx = re.compile(r" [0-9a-f]{8}([0-9a-f]{2})[0-9a-f]{6} karma: fail, in the penalty box "
                        r"\(2 naughty, 0 nice, \d+ connects\)")
        for _ in range(12):
            self.refused_at_connect(d)
            if len(set(rx.findall(d.stderr_text()))) == workers:
                break
        self.assertEqual(len(set(rx.findall(d.stderr_text()))), workers)

    def good_history(self, d):
        self.session(d, deliver=2)                       # ok at queue twice: +2, nice
        self.assertTrue(d.wait_for_log(r"karma: nice \(msg: 2, his: 1\)"))
        self.session(d, refusals=2)                      # naughty, but the good history holds
        self.assertTrue(d.wait_for_log(r"karma: naughty \(msg: -2, his: 0\)"))
        self.session(d)
        self.assertTrue(d.wait_for_log(r"karma: pass, no penalty \(1 naughty, 1 nice, \d+ connects\)"))
        self.assertDelivered(d, 2)

    def naughty_defers(self, d):
        self.session(d, refusals=1)                      # strikes 1, negative 1: the box
        before = self.records(d)
        c = self.client(d)                               # greeted: the refusal waits for rcpt
        c.ehlo()
        c.cmd("MAIL FROM:<good@example.test>", 250)
        r = c.cmd("RCPT TO:<a@example.test>", 550)
        self.assertIn("(karma) " + PENALTY, r.text)
        self.assertClosed(c)                             # reject_type disconnect
        self.recorded(d, before)
        # naughty's refusal is not counted again: the session is neutral, the penalty not renewed.
        self.assertTrue(d.wait_for_log(r"karma: neutral \(msg: 0, his: -1\)"))


class EmbeddedBackendTest(KarmaCase):

    def test_penalty_box_after_strikes_across_two_workers(self):
        self.penalty_box_after_strikes(self.start(settings={"workers": 2}), 2)

    def test_good_history_is_noted(self):
        self.good_history(self.start())

    def test_naughty_defers_the_refusal_to_its_hook(self):
        self.naughty_defers(self.start(karma="karma strikes 1 reject naughty", extra=["naughty reject rcpt"]))


class RedisBackendTest(KarmaCase):

    @classmethod
    def setUpClass(cls):
        cls.redis = RedisServer().start()

    @classmethod
    def tearDownClass(cls):
        cls.redis.cleanup()

    def state_settings(self):
        # One prefix per test: every test's client is 127.0.0.1.
        return {"backend": "redis", "address": self.redis.address, "prefix": f"e2e-{self._testMethodName}:",
                "timeout": 1}

    def test_penalty_box_after_strikes_across_two_workers(self):
        d = self.start(settings={"workers": 2})
        self.penalty_box_after_strikes(d, 2)
        key = f"e2e-{self._testMethodName}:karma:127.0.0.1"
        self.assertRegex(self.redis.command("GET", key), rb"^\$\d+\r\n2:0:\d+:\d+\r\n")
        ttl = self.redis.command("PTTL", key + ":penalty")
        self.assertGreater(int(ttl[1:].strip()), 86000 * 1000)

    def test_good_history_is_noted(self):
        self.good_history(self.start())

    def test_naughty_defers_the_refusal_to_its_hook(self):
        self.naughty_defers(self.start(karma="karma strikes 1 reject naughty", extra=["naughty reject rcpt"]))

    def test_redis_stopped_accepts_and_logs(self):
        d = self.start()
        self.redis.stop()
        try:
            self.session(d, deliver=1, recorded=False)
            self.assertTrue(d.wait_for_log(r"karma: state store unavailable: .*; accepting, the session is not recorded"))
            self.assertDelivered(d, 1)
        finally:
            self.redis.start()


if __name__ == "__main__":
    unittest.main()

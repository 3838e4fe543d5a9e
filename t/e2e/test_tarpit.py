"""test_tarpit.py - the tarpit plugin: the greeting and the chosen replies come at least the
configured delay late, the session still works (the message is delivered), and sessions wait
side by side on one worker's loop (one timer per delayed reply, no thread): five parallel
clients tarpitted for 0.5 s at connect are all greeted in about 0.5 s, not 2.5 s.
The karma_score and tarpit notes are covered by t/plugins/tarpit_test.cpp. Owner: tooling (t/e2e/).
"""

import threading
import time
import unittest

from harness import E2ETestCase

CHAIN_TAIL = ["rcpt_ok", "queue/maildir {maildir}"]
SLACK = 0.02   # the daemon's timers count from its loop's cached clock


class TarpitTest(E2ETestCase):

    def timed(self, c, line, code):
        t0 = time.monotonic()
        c.cmd(line, code)
        return time.monotonic() - t0

    def test_configured_and_per_hook_delays_and_the_session_works(self):
        d = self.start_daemon(plugins=["tarpit delay 0.3 delay_connect 0.4 hooks_to_delay rcpt,data"] + CHAIN_TAIL)
        t0 = time.monotonic()
        c = self.client(d)
        self.assertGreaterEqual(time.monotonic() - t0, 0.4 - SLACK)
        self.assertLess(self.timed(c, "EHLO x.test", 250), 0.3)            # not in hooks_to_delay
        self.assertLess(self.timed(c, "MAIL FROM:<s@example.test>", 250), 0.3)
        self.assertGreaterEqual(self.timed(c, "RCPT TO:<a@example.test>", 250), 0.3 - SLACK)
        self.assertGreaterEqual(self.timed(c, "DATA", 354), 0.3 - SLACK)
        c.send(b"Subject: tarpit\r\n\r\nhi\r\n.\r\n")
        c.expect(250)
        c.cmd("QUIT", 221)
        self.assertDelivered(d, 1)
        self.assertTrue(d.wait_for_log(r"tarpit: delaying the rcpt reply by 300 ms \(configured\)"))

    def test_parallel_sessions_wait_side_by_side(self):
        d = self.start_daemon(plugins=["tarpit delay_connect 0.5"] + CHAIN_TAIL)
        done = []

        def one():
            c = self.client(d)
            c.cmd("QUIT", 221)
            done.append(time.monotonic())

        t0 = time.monotonic()
        threads = [threading.Thread(target=one) for _ in range(5)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        self.assertEqual(len(done), 5)
        elapsed = max(done) - t0
        self.assertGreaterEqual(elapsed, 0.5 - SLACK)
        self.assertLess(elapsed, 2.0, "the delayed greetings were served one after another")


if __name__ == "__main__":
    unittest.main()

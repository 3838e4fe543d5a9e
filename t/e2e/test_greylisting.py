"""test_greylisting.py - the greylisting plugin on both state store backends: the embedded LMDB
file (the default) and a real redis-server this test starts on loopback.

Timeouts are seconds here (black_timeout 2): the first attempt is deferred, a retry before the
black timeout is deferred again, a retry after it is accepted. Also: a whitelisted client passes,
reject 0 only logs, the embedded state survives a daemon restart, two daemons sharing one Redis
see one history, and a stopped Redis gives the documented fail mode (accept and log by default,
451 with on_error defer). Owner: tooling (t/e2e/).
"""

import shutil
import tempfile
import time
import unittest
from pathlib import Path

from harness import RUN_AS_YAML, E2ETestCase, run_asmtpd
from redis_support import RedisServer

BLACK = 2
GREY = ["greylisting", "black_timeout", str(BLACK), "grey_timeout", "60", "sender", "1", "recipient", "1"]
CHAIN_TAIL = ["rcpt_ok", "queue/maildir {maildir}"]


def plugins(*extra):
    return [" ".join(GREY + list(extra))] + CHAIN_TAIL


class GreylistingCase(E2ETestCase):
    def state_settings(self):
        return None

    def start(self, plugin_lines=None, files=None, settings=None, **kw):
        s = {"state": self.state_settings()} if self.state_settings() else {}
        s.update(settings or {})
        return self.start_daemon(plugins=plugin_lines or plugins(), files=files, settings=s, **kw)

    def attempt(self, d, sender="s@example.test", rcpt="a@example.test", expect=250):
        """One transaction up to RCPT; returns the RCPT reply. Delivers the message on 250."""
        c = self.client(d)
        c.ehlo()
        c.cmd(f"MAIL FROM:<{sender}>", 250)
        r = c.cmd(f"RCPT TO:<{rcpt}>", expect)
        if expect == 250:
            c.cmd("DATA", 354)
            c.send(b"Subject: grey\r\n\r\nhello\r\n.\r\n")
            c.expect(250)
        c.cmd("QUIT", 221)
        return r

    def assertGreylisted(self, r):
        self.assertEqual(r.code, 450)
        self.assertEqual(r.esc, "4.7.1")
        self.assertIn("This mail is temporarily denied", r.text)

    def cycle(self, d):
        """First attempt and early retry deferred, the retry after black_timeout accepted."""
        self.assertGreylisted(self.attempt(d, expect=450))
        self.assertGreylisted(self.attempt(d, expect=450))
        time.sleep(BLACK + 0.3)
        self.attempt(d, expect=250)
        self.attempt(d, expect=250)   # white now


class EmbeddedBackendTest(GreylistingCase):

    def test_deferred_then_accepted_after_black_timeout(self):
        d = self.start()
        self.cycle(d)
        self.assertDelivered(d, 2)
        # Another recipient is a new triplet.
        self.assertGreylisted(self.attempt(d, rcpt="b@example.test", expect=450))
        self.assertTrue(d.wait_for_log(r"greylisting: greylist:127\.0\.0\.0/24\|s@example\.test\|a@example\.test: grey, pass"))

    def test_whitelisted_client_passes(self):
        d = self.start(plugin_lines=["whitelist"] + plugins(), files={"whitelisthosts": "127.0.0.1\n"})
        self.attempt(d, expect=250)
        self.assertDelivered(d, 1)

    def test_greylist_exclude_file(self):
        d = self.start(files={"greylist_exclude": "example.test\n"})
        self.attempt(d, sender="s@example.test", expect=250)
        self.assertGreylisted(self.attempt(d, sender="s@other.test", expect=450))

    def test_reject_0_only_logs(self):
        d = self.start(plugin_lines=plugins("reject", "0"))
        self.attempt(d, expect=250)
        self.assertDelivered(d, 1)
        self.assertTrue(d.wait_for_log(r"greylisting: .*: new, would defer \(reject 0\)"))

    def test_deny_late_defers_at_data(self):
        d = self.start(plugin_lines=plugins("deny_late", "1"))
        c = self.client(d)
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.test>", 250)
        c.cmd("RCPT TO:<a@example.test>", 250)
        r = c.cmd("DATA", 450)
        self.assertEqual(r.esc, "4.7.1")

    def test_state_survives_a_restart(self):
        d = self.start()
        self.assertGreylisted(self.attempt(d, expect=450))
        d.stop()
        self.assertTrue((d.spool_dir / "state.mdb").exists())
        time.sleep(BLACK + 0.3)
        d.start()
        self.attempt(d, expect=250)   # the restarted daemon remembers the first attempt

    def test_workers_share_the_file(self):
        d = self.start(settings={"workers": 2})
        self.assertGreylisted(self.attempt(d, expect=450))
        time.sleep(BLACK + 0.3)
        # Whichever worker takes each connection, the history is one.
        for _ in range(4):
            self.attempt(d, expect=250)


class RedisBackendTest(GreylistingCase):

    def setUp(self):
        self.redis = RedisServer().start()
        self.addCleanup(self.redis.cleanup)

    def state_settings(self):
        return {"backend": "redis", "address": self.redis.address, "prefix": "e2e:", "timeout": 1}

    def test_deferred_then_accepted_and_stored_under_the_prefix(self):
        d = self.start()
        self.cycle(d)
        self.assertDelivered(d, 2)
        raw = self.redis.command("GET", "e2e:greylist:127.0.0.0/24|s@example.test|a@example.test")
        # New once, black once, white once: a white triplet seen again soon is not rewritten.
        self.assertRegex(raw, rb"^\$\d+\r\n\d+:1:1:1\r\n")

    def test_two_daemons_share_one_history(self):
        a = self.start()
        b = self.start()
        self.assertNotEqual(a.port, b.port)
        self.assertGreylisted(self.attempt(a, expect=450))   # first seen on A
        self.assertGreylisted(self.attempt(b, expect=450))   # too early, on B
        time.sleep(BLACK + 0.3)
        self.attempt(b, expect=250)                           # passes on B after the delay
        self.attempt(a, expect=250)

    def test_redis_stopped_accepts_and_logs(self):
        d = self.start()
        self.assertGreylisted(self.attempt(d, expect=450))
        self.redis.stop()
        self.attempt(d, rcpt="new@example.test", expect=250)
        self.assertTrue(d.wait_for_log(r"greylisting: state store unavailable: .*accepting \(on_error accept\)"))
        # Redis back: greylisting again (after the reconnect backoff).
        self.redis.start()
        deadline = time.monotonic() + 10
        while True:
            c = self.client(d)
            c.ehlo()
            c.cmd("MAIL FROM:<s@example.test>", 250)
            r = c.cmd("RCPT TO:<other@example.test>")
            c.close()
            if r.code == 450 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        self.assertGreylisted(r)

    def test_redis_stopped_on_error_defer(self):
        d = self.start(plugin_lines=plugins("on_error", "defer"))
        self.redis.stop()
        r = self.attempt(d, expect=451)
        self.assertEqual(r.esc, "4.3.0")


class StateSettingsTest(E2ETestCase):

    def test_bad_state_settings_name_their_line(self):
        tmp = Path(tempfile.mkdtemp(prefix="asmtpd-state-"))
        self.addCleanup(shutil.rmtree, tmp, True)
        (tmp / "asmtpd.yaml").write_text(
            "hostname: mx.e2e.test\n"
            "state:\n"
            "  backend: memcached\n"
            "  address: redis.example:6379\n"
            "  timeout: 0\n"
            "  colour: blue\n" + RUN_AS_YAML)
        (tmp / "plugins").write_text("greylisting\nrcpt_ok\n")
        r = run_asmtpd(["--config", str(tmp), "--check"], env={})
        err = r.stderr.decode()
        self.assertNotEqual(r.returncode, 0, err)
        self.assertRegex(err, r"asmtpd\.yaml:3: state\.backend: .*memcached")
        self.assertRegex(err, r"asmtpd\.yaml:4: state\.address: expected IP:port")
        self.assertRegex(err, r"asmtpd\.yaml:5: state\.timeout")
        self.assertRegex(err, r"asmtpd\.yaml:6: .*colour")

    def test_good_state_settings_and_plugin_arguments_check_clean(self):
        tmp = Path(tempfile.mkdtemp(prefix="asmtpd-state-"))
        self.addCleanup(shutil.rmtree, tmp, True)
        (tmp / "asmtpd.yaml").write_text(
            "hostname: mx.e2e.test\n"
            f"spool_dir: {tmp}/spool\n"
            "state: {backend: redis, address: 127.0.0.1:6379, prefix: 'asmtpd:', timeout: 1}\n" + RUN_AS_YAML)
        (tmp / "plugins").write_text("greylisting black_timeout 60 grey_timeout 600 sender 1 deny_late 1\nrcpt_ok\n")
        r = run_asmtpd(["--config", str(tmp), "--check"], env={})
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        (tmp / "plugins").write_text("greylisting black_timeout 600 grey_timeout 60\nrcpt_ok\n")
        r = run_asmtpd(["--config", str(tmp), "--check"], env={})
        self.assertNotEqual(r.returncode, 0)
        self.assertRegex(r.stderr.decode(), r"plugins:1: .*grey_timeout \(60\) must be longer than black_timeout")


if __name__ == "__main__":
    unittest.main()

"""test_dso.py - shared-object plugins (`dso` lines) against the real daemon: SPP.md §8 #50 and
#51 (IndiMail's plugin_init API), the legacy reply rules, the deadline, start-up errors, and the
native ABI (hooks/plugin_abi.h) end to end.

The plugins are the C fixtures of t/fixtures/dso, built by CMake next to the daemon under test
($ASMTPD_BIN's directory)/fixtures. indimail_record.so appends what it was called with to the
file named by $DSO_RECORD (the daemon's process environment, as IndiMail plugins use getenv).
Owner: dso (plugins/dso/).
"""

import os
import shutil
import sys
import tempfile
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402
from harness import E2ETestCase  # noqa: E402

harness.BIN = os.path.abspath(harness.BIN)
FIXTURES = Path(harness.BIN).parent / "fixtures"


def so(name):
    return str(FIXTURES / f"{name}.so")


@unittest.skipUnless((FIXTURES / "indimail_reject.so").exists(),
                     f"dso fixtures not built in {FIXTURES} (build the fixture_* targets)")
class DsoTest(E2ETestCase):

    def setUp(self):
        self.scratch = Path(tempfile.mkdtemp(prefix="asmtpd-dso-"))
        self.addCleanup(shutil.rmtree, self.scratch, True)
        self.record = self.scratch / "record"

    def recorded(self):
        return self.record.read_text().splitlines() if self.record.exists() else []

    def start(self, plugins, **kw):
        return self.start_daemon(plugins=plugins, env={"DSO_RECORD": str(self.record)}, **kw)

    def session(self, d):
        c = self.client(d)
        c.ehlo()
        return c

    def assertRaw(self, reply, raw):
        self.assertEqual(reply.raw, raw.encode(), reply)

    # ---- #50

    def test_50_first_non_zero_wins_and_null_mail_func_is_skipped(self):
        d = self.start([f"dso {so('indimail_reject')}", f"dso:2 {so('indimail_record')}", "rcpt_ok",
                        "queue/maildir {maildir}"])
        c = self.session(d)
        # P1 has no mail_func: MAIL reaches P2's.
        c.cmd("MAIL FROM:<s@example.test>", 250)
        self.assertRaw(c.cmd("RCPT TO:<blocked@example.test>", 553), "553 no\r\n")
        # The session goes on; P1 says 0 for this one, so P2 runs and rcpt_ok accepts.
        c.cmd("RCPT TO:<ok@example.test>", 250)
        self.assertEqual(self.recorded(), [
            "mail 127.0.0.1 <s@example.test>",
            "rcpt 127.0.0.1 <s@example.test> <ok@example.test>",   # never for blocked@
        ])
        c.cmd("DATA", 354)
        c.send(b"Subject: t\r\n\r\nhi\r\n.\r\n")
        c.expect(250)
        self.assertDelivered(d, 1)
        self.assertEqual(self.recorded()[-1], "data mx.e2e.test 127.0.0.1 unknown []")

    def test_50_message_rules(self):
        d = self.start([f"dso {so('indimail_reject')}", "rcpt_ok", "queue/maildir {maildir}"])
        c = self.session(d)
        c.cmd("MAIL FROM:<>", 250)
        self.assertRaw(c.cmd("RCPT TO:<multi@example.test>", 553), "553-first\r\n553 second\r\n")
        self.assertRaw(c.cmd("RCPT TO:<nullmsg@example.test>", 451), "451 4.3.0 rejected by plugin\r\n")
        self.assertRaw(c.cmd("RCPT TO:<badcode@example.test>", 451), "451 4.3.0 rejected by plugin\r\n")
        self.assertRaw(c.cmd("RCPT TO:<nocrlf@example.test>", 554), "554 5.7.1 no crlf\r\n")
        self.assertRaw(c.cmd("RCPT TO:<args@example.test>", 553),
                       "553 ip=127.0.0.1 from=<> rcpt=<args@example.test>\r\n")
        # A 421 text does not end the session (IndiMail behaviour).
        self.assertRaw(c.cmd("RCPT TO:<soft@example.test>", 421), "421 go away\r\n")
        c.cmd("NOOP", 250)
        c.cmd("RCPT TO:<fine@example.test>", 250)

    # ---- #51

    def test_51_data_func_rejects_after_the_whole_body_and_nothing_is_queued(self):
        d = self.start(["rcpt_ok", f"dso {so('indimail_data')}", "queue/maildir {maildir}"])
        c = self.session(d)
        c.cmd("MAIL FROM:<s@example.test>", 250)
        c.cmd("RCPT TO:<a@example.test>", 250)
        c.cmd("DATA", 354)
        body = b"Subject: big\r\n\r\n" + b"".join(b"line %06d of the body\r\n" % i for i in range(20000))
        t = c.send_in_thread(body)
        t.join(30)
        self.assertIsNone(t.error)
        # Nothing may come back before the final dot: the plugin runs after the whole body.
        self.assertEqual(c.drain(0.5), b"")
        c.send(b".\r\n")
        self.assertRaw(c.expect(554),
                       "554 5.7.1 rejected: local=mx.e2e.test ip=127.0.0.1 host=unknown info=[]\r\n")
        self.assertDelivered(d, 0)
        # The session continues; the transaction is gone.
        c.cmd("RCPT TO:<a@example.test>", 503)
        c.cmd("MAIL FROM:<s@example.test>", 250)

    # ---- deadline and start-up

    def test_a_plugin_that_overruns_its_deadline_gets_a_temporary_failure(self):
        d = self.start([f"dso {so('indimail_reject')} timeout 0.3", "rcpt_ok", "queue/maildir {maildir}"])
        c = self.session(d)
        c.cmd("MAIL FROM:<s@example.test>", 250)
        t0 = time.monotonic()
        r = c.cmd("RCPT TO:<sleep@example.test>", 450)
        self.assertLess(time.monotonic() - t0, 0.59)   # long before the plugin's 600 ms
        self.assertIn("plugin timeout", r.text)
        # While the abandoned call still runs, the plugin is busy; then it recovers.
        self.assertIn("plugin busy", c.cmd("RCPT TO:<blocked@example.test>", 450).text)
        time.sleep(0.5)
        self.assertRaw(c.cmd("RCPT TO:<blocked@example.test>", 553), "553 no\r\n")
        self.assertTrue(d.wait_for_log(r"abandoned call returned after \d+ ms"))

    def test_a_library_that_cannot_be_loaded_stops_the_start(self):
        cfg = self.scratch / "config"
        cfg.mkdir()
        (cfg / "asmtpd.yaml").write_text(f"spool_dir: {self.scratch}/spool\n" + harness.RUN_AS_YAML)
        (cfg / "plugins").write_text(f"dso {self.scratch}/missing.so\ndso:2 {so('no_entry')}\n"
                                     f"dso:3 {so('indimail_record')} symbol null_init\n")
        p = harness.run_asmtpd(["--config", str(cfg), "--check"])
        err = p.stderr.decode()
        self.assertEqual(p.returncode, 1, err)
        self.assertIn("plugins:1", err)
        self.assertIn("cannot load", err)
        self.assertIn("neither asmtpd_plugin_entry_v1 nor plugin_init", err)
        self.assertIn("null_init() returned NULL", err)

    # ---- the native ABI

    def test_native_plugin_end_to_end(self):
        d = self.start([f"dso {so('native_probe')}", "rcpt_ok", "queue/maildir {maildir}"])
        c = self.session(d)
        c.cmd("MAIL FROM:<header@example.test>", 250)
        self.assertRaw(c.cmd("RCPT TO:<reject@example.test>", 554), "554 5.7.1 no such user\r\n")
        r = c.cmd("RCPT TO:<prefix@example.test>", 250)
        self.assertEqual(r.lines[0], "2.1.5 note one")
        c.cmd("RCPT TO:<change@example.test>", 250)
        c.cmd("DATA", 354)
        c.send(b"Subject: native\r\n\r\nhello\r\n.\r\n")
        c.expect(250)
        [m] = self.assertDelivered(d, 1)
        text = m.content.decode()
        self.assertTrue(text.startswith("X-Native: mail\r\nX-Body-Bytes: ") or
                        text.startswith("X-Native: mail\nX-Body-Bytes: "), text[:200])
        self.assertIn("X-Body-Match: yes", text)
        self.assertIn("Subject: native", text)
        self.assertTrue(d.wait_for_log(r"\[dso\] connect from 127\.0\.0\.1"))

    def test_native_may_block_plugin_runs_on_the_pool(self):
        d = self.start([f"dso {so('native_probe')} timeout 0.3 -- may_block", "rcpt_ok",
                        "queue/maildir {maildir}"])
        c = self.session(d)
        self.assertRaw(c.cmd("HELO reject.test", 550), "550 5.7.1 bad helo\r\n")
        c.ehlo()
        c.cmd("MAIL FROM:<sleep@example.test>", 450)   # 600 ms > 0.3 s: abandoned
        time.sleep(0.5)
        c.cmd("MAIL FROM:<s@example.test>", 250)
        self.assertRaw(c.cmd("RCPT TO:<close@example.test>", 421), "421 4.7.0 bye\r\n")
        self.assertClosed(c)


if __name__ == "__main__":
    unittest.main()

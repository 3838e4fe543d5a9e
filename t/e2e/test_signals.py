"""test_signals.py - SIGTERM drain, SIGHUP reload (good and bad config), --check, --version, --help.

Owner: tooling (t/e2e/).
"""

import re
import signal
import socket
import time
import unittest

from harness import RUN_AS_YAML, E2ETestCase, Client, Daemon, run_asmtpd, to_yaml


class SignalsTest(E2ETestCase):

    def test_sigterm_drains_idle_session_with_421(self):
        d = self.start_daemon(settings={"timeouts": {"shutdown": 2}})
        c = self.client(d)
        c.ehlo()
        t0 = time.monotonic()
        d.signal(signal.SIGTERM)
        # A new client is no longer served (the listener is closed).
        time.sleep(0.3)
        try:
            late = Client(d.port, timeout=3, greet=False)
            try:
                r = late.read_reply(timeout=3)
                self.assertNotEqual(r.code, 220, "a connection after SIGTERM was greeted")
            except AssertionError as e:
                if "220" in str(e):
                    raise
            finally:
                late.close()
        except OSError:
            pass   # refused: fine
        r = c.read_reply(timeout=10)
        waited = time.monotonic() - t0
        self.assertEqual(r.code, 421, r.raw)
        self.assertGreaterEqual(waited, 1.5, "421 came before timeouts.shutdown")
        self.assertLess(waited, 8)
        self.assertClosed(c)
        self.assertEqual(d.wait(10), 0, "daemon exit code after SIGTERM")

    def test_sigterm_lets_a_transaction_finish(self):
        d = self.start_daemon(settings={"timeouts": {"shutdown": 3}})
        c = self.client(d)
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.test>", 250)
        d.signal(signal.SIGTERM)
        time.sleep(0.2)
        c.cmd("RCPT TO:<a@example.test>", 250)
        c.cmd("DATA", 354)
        c.send(b"Subject: during drain\r\n\r\nx\r\n.\r\n")
        c.expect(250)
        r = c.cmd("QUIT", (221, 421))
        self.assertClosed(c)
        self.assertEqual(d.wait(10), 0)
        self.assertDelivered(d, 1)
        self.assertIsNotNone(r)

    def test_sigterm_without_sessions_exits_at_once(self):
        d = self.start_daemon(settings={"timeouts": {"shutdown": 30}})
        t0 = time.monotonic()
        d.signal(signal.SIGTERM)
        self.assertEqual(d.wait(10), 0)
        self.assertLess(time.monotonic() - t0, 5)

    def _rcpt_code(self, d, rcpt):
        c = self.client(d)
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.test>", 250)
        code = c.cmd(f"RCPT TO:<{rcpt}>").code
        c.cmd("QUIT", 221)
        c.close()
        return code

    def test_sighup_reloads_flat_files(self):
        d = self.start_daemon()
        self.assertEqual(self._rcpt_code(d, "a@other.test"), 550)
        old = self.client(d)          # a session from before the reload
        old.ehlo()
        d.write_file("rcpthosts", "example.test\nother.test\n")
        d.signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        code = None
        while time.monotonic() < deadline:
            code = self._rcpt_code(d, "a@other.test")
            if code == 250:
                break
            time.sleep(0.2)
        self.assertEqual(code, 250, "new sessions did not see the reloaded rcpthosts")
        self.assertEqual(self._rcpt_code(d, "a@example.test"), 250)
        # The session that started before SIGHUP keeps the chains it started with.
        old.cmd("MAIL FROM:<s@example.test>", 250)
        old.cmd("RCPT TO:<a@other.test>", 550)
        self.assertTrue(d.running())

    def test_sighup_with_broken_yaml_keeps_old_config(self):
        d = self.start_daemon(settings={"greeting": "old config ready"})
        (d.config_dir / "asmtpd.yaml").write_text("limits: [this is not\n  valid: yaml\n")
        d.signal(signal.SIGHUP)
        m = d.wait_for_log(r"asmtpd\.yaml", timeout=10)
        self.assertIsNotNone(m, "no log line naming asmtpd.yaml after a bad reload")
        time.sleep(0.3)
        self.assertTrue(d.running(), "daemon died on a bad reload")
        c = self.client(d)
        self.assertIn("old config ready", c.greeting.text)
        c.ehlo()
        c.send_mail()
        c.cmd("QUIT", 221)
        self.assertDelivered(d, 1)
        errors = [ln for ln in d.stderr_text().splitlines() if "asmtpd.yaml" in ln]
        self.assertTrue(any(re.search(r"\b(error|warn|crit)", ln, re.I) for ln in errors), errors)

    def test_sighup_with_bad_plugin_keeps_old_plugins(self):
        d = self.start_daemon()
        (d.config_dir / "plugins").write_text("rcpt_ok\nno_such_plugin\nqueue/maildir " + str(d.maildir_path) + "\n")
        d.signal(signal.SIGHUP)
        self.assertIsNotNone(d.wait_for_log(r"plugins:2\b", timeout=10), "bad plugin not logged as plugins:2")
        time.sleep(0.3)
        self.assertTrue(d.running())
        c = self.client(d)
        c.ehlo()
        self.assertEqual(c.send_mail().code, 250)
        self.assertDelivered(d, 1)


class CheckTest(E2ETestCase):
    """asmtpd --check / --version / --help: run to completion, no daemon."""

    def config(self, yaml_text, plugins_text, files=None):
        d = Daemon()                  # only for its temp dir layout; never started
        self._daemons.append(d)
        (d.config_dir / "asmtpd.yaml").write_text(yaml_text + RUN_AS_YAML)
        (d.config_dir / "plugins").write_text(d.expand(plugins_text))
        for k, v in (files or {}).items():
            d.write_file(k, v)
        return d

    def test_check_good_config(self):
        d = self.config(to_yaml({"hostname": "mx.e2e.test", "limits": {"max_rcpts": 5}}) + "\n",
                        "rcpt_ok\nqueue/maildir {maildir}\n")
        p = run_asmtpd(["--config", str(d.config_dir), "--check"])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertNotIn(b"AddressSanitizer", p.stderr)

    def test_check_reports_every_problem_with_file_and_line(self):
        yaml_text = ("hostname: mx.e2e.test\n"          # 1
                     "limits:\n"                        # 2
                     "  max_rcpts: 5\n"                 # 3
                     "  no_such_limit: 1\n"             # 4  unknown key
                     "frobnicate: yes\n")               # 5  unknown key
        plugins_text = ("# comment\n"                   # 1
                        "rcpt_ok\n"                     # 2
                        "no_such_plugin\n"              # 3  unknown plugin
                        "count_unrecognized_commands abc\n"   # 4  bad argument
                        "check_earlytalker wait soon\n"       # 5  bad argument
                        "queue/maildir {maildir}\n")    # 6
        d = self.config(yaml_text, plugins_text)
        p = run_asmtpd(["--config", str(d.config_dir), "--check"])
        out = (p.stdout + p.stderr).decode(errors="replace")
        self.assertNotEqual(p.returncode, 0, out)
        for file, line in (("asmtpd.yaml", 4), ("asmtpd.yaml", 5), ("plugins", 3), ("plugins", 4), ("plugins", 5)):
            self.assertRegex(out, rf"(^|[\s/]){re.escape(file)}:{line}: \S", f"no {file}:{line}: message in\n{out}")
        for file, line in (("asmtpd.yaml", 1), ("asmtpd.yaml", 3), ("plugins", 2), ("plugins", 6)):
            self.assertNotRegex(out, rf"(^|[\s/]){re.escape(file)}:{line}:", f"{file}:{line} is fine\n{out}")
        self.assertNotIn("AddressSanitizer", out)

    def test_check_wrong_type(self):
        d = self.config("workers: many\nlimits:\n  databytes: -5\n", "rcpt_ok\n")
        p = run_asmtpd(["--config", str(d.config_dir), "--check"])
        out = (p.stdout + p.stderr).decode(errors="replace")
        self.assertNotEqual(p.returncode, 0, out)
        self.assertRegex(out, r"asmtpd\.yaml:1: \S", out)
        self.assertRegex(out, r"asmtpd\.yaml:3: \S", out)

    def test_start_refuses_bad_config(self):
        d = self.config("hostname: mx.e2e.test\nbogus_key: 1\n", "rcpt_ok\n")
        p = run_asmtpd(["--config", str(d.config_dir)], timeout=20)
        out = (p.stdout + p.stderr).decode(errors="replace")
        self.assertNotEqual(p.returncode, 0, out)
        self.assertRegex(out, r"asmtpd\.yaml:2: \S", out)

    def test_version_and_help(self):
        p = run_asmtpd(["--version"])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertRegex(p.stdout.decode(), r"asmtpd\S* \d+\.\d+")
        p = run_asmtpd(["--help"])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        text = p.stdout.decode()
        for opt in ("--config", "--check", "--version", "--help"):
            self.assertIn(opt, text)
        p = run_asmtpd(["--no-such-option"])
        self.assertNotEqual(p.returncode, 0)


if __name__ == "__main__":
    unittest.main()

"""test_plugtest.py - asmtpd-plugtest, the offline plugin tester: an spp bash program and
IndiMail / native shared objects run against one hook; the printed verdict, the exact reply,
side effects, the plugin's stderr, and the exit codes (0 ran, 1 could not run, 2 usage).

The binary and the .so fixtures are taken from the directory of the daemon under test
($ASMTPD_BIN), where CMake builds them. Every run has a timeout; the temporary directory holds
the test programs. Owner: dso / plugtest (tools/plugtest/).
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402

BUILD = Path(os.path.abspath(harness.BIN)).parent
PLUGTEST = BUILD / "asmtpd-plugtest"
FIXTURES = BUILD / "fixtures"


@unittest.skipUnless(PLUGTEST.exists(), f"{PLUGTEST} not built")
class PlugtestTest(unittest.TestCase):
    maxDiff = 4000

    def setUp(self):
        self.dir = Path(tempfile.mkdtemp(prefix="asmtpd-plugtest-e2e-"))
        self.addCleanup(shutil.rmtree, self.dir, True)

    def script(self, name, body):
        p = self.dir / name
        p.write_text("#!/bin/bash\n" + body)
        p.chmod(0o755)
        return str(p)

    def run_tool(self, *args, timeout=20):
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
        p = subprocess.run([str(PLUGTEST)] + [str(a) for a in args], capture_output=True, timeout=timeout,
                           stdin=subprocess.DEVNULL, env=env, cwd=str(self.dir))
        out, err = p.stdout.decode(), p.stderr.decode()
        for marker in harness.SANITIZER_MARKERS:
            self.assertNotIn(marker, err)
        return p.returncode, out, err

    def lines(self, out, key):
        return [l[len(key) + 2:] for l in out.splitlines() if l.startswith(key + ": ")]

    # ---- spp programs

    def test_spp_auth_section_sees_the_user_and_method_and_can_refuse(self):
        prog = self.script("auth.sh", 'echo "E535 5.7.8 no for $SMTPAUTHUSER via $SMTPAUTHMETHOD"\n')
        rc, out, err = self.run_tool("--hook", "auth_post", "--auth-user", "bob", "--auth-method", "LOGIN", prog)
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(self.lines(out, "verdict"), ["DENY"])
        self.assertEqual(self.lines(out, "reply"), ["535 5.7.8 no for bob via login"])
        rc, out, err = self.run_tool("--hook", "auth", "--spp-line", ":true")
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(self.lines(out, "reply"), ["235 2.7.0 Authentication successful"])

    def test_spp_pass_section_counts_the_recipient_it_runs_for(self):
        rc, out, err = self.run_tool("--hook", "rcpt_post", "--from", "a@b.test", "--rcpt", "x@example.org",
                                     "--rcpt", "y@example.org", "--spp-line",
                                     ':echo "HX-Pass: $SMTPRCPTTO $SMTPRCPTCOUNT/$SMTPRCPTCOUNTALL"')
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(self.lines(out, "header"), ["X-Pass: x@example.org 1/1", "X-Pass: y@example.org 2/2"])
        rc, out, err = self.run_tool("--hook", "rcpt_post", "--spp-line", ":true")
        self.assertEqual(rc, 2)
        self.assertIn("needs --rcpt", err)


    def test_spp_bash_program_printing_E550(self):
        prog = self.script("deny.sh", 'echo "E550 5.7.1 go away $SMTPMAILFROM"\necho "checked $FOO" >&2\n')
        rc, out, err = self.run_tool("--hook", "mail", "--from", "a@b.test", "--env", "FOO=bar", prog)
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(self.lines(out, "plugin"), [f'spp "{prog}"'])
        self.assertEqual(self.lines(out, "verdict"), ["DENY"])
        self.assertEqual(self.lines(out, "reply"), ["550 5.7.1 go away a@b.test"])
        log = "\n".join(self.lines(out, "log"))
        self.assertIn(f'plugin="{prog}"', log)
        self.assertIn("checked bar", log)

    def test_spp_program_saying_nothing_lets_the_command_through(self):
        prog = self.script("quiet.sh", "exit 1\n")
        rc, out, _ = self.run_tool("--hook", "mail", "--from", "<a@b.test>", prog)
        self.assertEqual(rc, 0)
        self.assertEqual(self.lines(out, "verdict"), ["DECLINED"])
        self.assertEqual(self.lines(out, "reply"), ["250 2.1.0 <a@b.test>, sender OK"])

    def test_spp_line_side_effects_and_several_recipients(self):
        line = (':case "$SMTPRCPTTO" in bad@*) echo E553 sorry;; *) printf "SSEEN=$SMTPRCPTCOUNT\\nHX-T: 1\\n'
                'Cnew@example.org\\nP250-note\\nO\\n";; esac')
        rc, out, _ = self.run_tool("--hook", "rcpt", "--from", "a@b.test", "--rcpt", "bad@x.test",
                                   "--rcpt", "good@x.test", "--spp-line", line)
        self.assertEqual(rc, 0, out)
        self.assertEqual(self.lines(out, "verdict"), ["DENY", "OK"])
        self.assertEqual(self.lines(out, "reply"),
                         ["553 sorry", "250-2.1.5 note", "250 2.1.5 <new@example.org>, recipient ok"])
        self.assertEqual(self.lines(out, "address"), ["<new@example.org>"])
        self.assertIn("+SEEN=0", self.lines(out, "env"))   # the refused first one is not counted
        self.assertEqual(self.lines(out, "header"), ["X-T: 1"])

    def test_spp_failures_are_reported_as_the_daemon_would(self):
        missing = str(self.dir / "no-such-program")
        rc, out, err = self.run_tool("--hook", "mail", missing)
        # The report shows the daemon's reply, and the exit status says the program never ran.
        self.assertEqual(rc, 1, err)
        self.assertEqual(self.lines(out, "reply"), [f"451 qmail-spp failure: {missing}: can't execute (#4.3.0)"])
        self.assertIn(f"the program could not be run: {missing}: can't execute", err)
        not_exec = self.dir / "not-executable"
        not_exec.write_text("#!/bin/sh\necho E550 no\n")
        rc, out, err = self.run_tool("--hook", "mail", str(not_exec))
        self.assertEqual(rc, 1, err)
        t0 = time.monotonic()
        rc, out, _ = self.run_tool("--hook", "helo", "--timeout", "0.5", "--spp-line", ":sleep 5")
        self.assertLess(time.monotonic() - t0, 4.5)
        self.assertEqual(rc, 0)
        self.assertEqual(self.lines(out, "reply"), ["451 qmail-spp failure: :sleep 5: timeout (#4.3.0)"])

    def test_home_is_the_programs_working_directory(self):
        home = self.dir / "qmail-home"
        (home / "control").mkdir(parents=True)
        (home / "control" / "flag").write_text("from home\n")
        line = ":read v < control/flag && echo \"E550 $v\""
        rc, out, err = self.run_tool("--hook", "mail", "--home", str(home), "--spp-line", line)
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.lines(out, "reply"), ["550 from home"])
        rc, out, err = self.run_tool("--hook", "mail", "--home", str(self.dir / "none"), "--spp-line", line)
        self.assertEqual(rc, 2)
        self.assertIn("--home", err)

    def test_spp_data_post_reads_the_message(self):
        msg = self.dir / "msg.txt"
        msg.write_text("Subject: hello\n\nspam spam spam\n")
        prog = self.script("filter.sh", 'if grep -q spam; then echo "E554 5.7.1 looks like spam"; fi\n')
        rc, out, _ = self.run_tool("--hook", "data_post", "--rcpt", "r@x.test", "--message", msg, prog)
        self.assertEqual(rc, 0, out)
        self.assertEqual(self.lines(out, "reply"), ["554 5.7.1 looks like spam"])

    # ---- shared objects

    @unittest.skipUnless((FIXTURES / "indimail_reject.so").exists(), "dso fixtures not built")
    def test_indimail_so(self):
        so = FIXTURES / "indimail_reject.so"
        rc, out, err = self.run_tool("--hook", "rcpt", "--from", "s@x.test", "--rcpt", "blocked@x.test",
                                     "--rcpt", "args@x.test", "--ip", "192.0.2.9", "--dso", so)
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(self.lines(out, "plugin"), [f"dso {so}"])
        self.assertEqual(self.lines(out, "verdict"), ["DENY", "DENY"])
        self.assertEqual(self.lines(out, "reply"),
                         ["553 no", "553 ip=192.0.2.9 from=<s@x.test> rcpt=<args@x.test>"])
        # mail_func is NULL: the plugin is never called at MAIL.
        rc, out, _ = self.run_tool("--hook", "mail", "--dso", so)
        self.assertEqual(rc, 0)
        self.assertTrue(any("never called" in n for n in self.lines(out, "note")), out)

    @unittest.skipUnless((FIXTURES / "native_probe.so").exists(), "dso fixtures not built")
    def test_native_so_data_post_and_deadline(self):
        so = FIXTURES / "native_probe.so"
        rc, out, _ = self.run_tool("--hook", "data_post", "--rcpt", "r@x.test", "--dso", so)
        self.assertEqual(rc, 0, out)
        self.assertEqual(self.lines(out, "verdict"), ["DECLINED"])
        headers = self.lines(out, "header")
        self.assertEqual(len(headers), 2, out)
        self.assertTrue(headers[0].startswith("X-Body-Bytes: "))
        self.assertEqual(headers[1], "X-Body-Match: yes")
        rc, out, _ = self.run_tool("--hook", "mail", "--from", "sleep@x.test", "--timeout", "0.2",
                                   "--dso", so, "--", "may_block")
        self.assertEqual(rc, 0)
        self.assertEqual(self.lines(out, "reply"), ["450 4.7.1 plugin timeout"])
        self.assertEqual(self.lines(out, "env"), [])   # the abandoned call's set_env never applies

    # ---- exit codes

    def test_usage_errors_exit_2(self):
        prog = self.script("x.sh", "true\n")
        for args in (["--from", "a@b.test", prog],                 # no --hook
                     ["--hook", "nope", prog],
                     ["--hook", "mail"],                           # no plugin
                     ["--hook", "rcpt", prog],                     # rcpt without --rcpt
                     ["--hook", "mail", "--bogus", prog],
                     ["--hook", "mail", "--from", "not an address", prog],
                     ["--hook", "mail", prog, "extra"],
                     ["--hook", "mail", "--config", str(self.dir / "nope"), prog]):
            with self.subTest(args=args):
                rc, out, err = self.run_tool(*args)
                self.assertEqual(rc, 2, out + err)
                self.assertIn("usage: asmtpd-plugtest", err)
                self.assertEqual(out, "")

    def test_a_plugin_that_cannot_be_loaded_exits_1(self):
        rc, out, err = self.run_tool("--hook", "mail", "--dso", self.dir / "missing.so")
        self.assertEqual(rc, 1)
        self.assertEqual(out, "")
        self.assertIn("cannot load", err)
        rc, _, _ = self.run_tool("--help")
        self.assertEqual(rc, 0)


if __name__ == "__main__":
    unittest.main()

"""test_spp_sandbox.py - spp programs under another uid/gid and with rlimits (SPP.md 5.2.1: the
`user`, `rlimit_cpu`, `rlimit_as` arguments of the spp line), against the real daemon; and that
a bad sandbox argument stops start-up with the plugins file and line. Owner: spp.
"""

import os
import time
import unittest

from spp_support import SppTestCase, failure, record

REPORT = ":echo \"E550 uid=$(id -u) gid=$(id -g) groups=$(id -G) cpu=$(ulimit -t) as=$(ulimit -v) pwd=$(pwd)\""


class SppSandboxTest(SppTestCase):

    def test_limits_apply_to_every_program(self):
        d = self.start_spp(f"[mail]\n{REPORT}\n", spp="spp timeout 3 rlimit_cpu 5 rlimit_as 512M")
        c = self.session(d)
        r = c.cmd("MAIL FROM:<s@example.test>", 550)
        self.assertIn("cpu=5 as=524288", r.text)
        self.assertIn(f"uid={os.geteuid()} ", r.text)

    @unittest.skipUnless(os.geteuid() == 0, "switching uid needs the daemon to run as root")
    def test_user_runs_programs_unprivileged_with_no_supplementary_groups(self):
        d = self.start_spp(f"[mail]\n{REPORT}\n", spp="spp timeout 3 user nobody:nogroup cwd /")
        c = self.session(d)
        r = c.cmd("MAIL FROM:<s@example.test>", 550)
        self.assertIn("uid=65534 gid=65534 groups=65534 cpu=unlimited", r.text)
        self.assertIn("pwd=/", r.text)

    @unittest.skipUnless(os.geteuid() == 0, "switching uid needs the daemon to run as root")
    def test_a_program_the_user_cannot_reach_is_a_qmail_spp_failure_not_a_crash(self):
        # The config dir is root's 0700 temp dir: nobody cannot chdir into it.
        d = self.start_spp(f"[mail]\n{REPORT}\n", spp="spp timeout 3 user nobody")
        c = self.session(d)
        r = c.cmd("MAIL FROM:<s@example.test>", 451)
        self.assertIn("qmail-spp failure", r.text)
        c.cmd("QUIT", 221)
        self.assertRegex(d.stderr_text(), r"EACCES.*chdir")

    def test_bad_sandbox_arguments_fail_start_up_with_file_and_line(self):
        for args, why in (("user asmtpd-no-such-user", "no such user"),
                          ("rlimit_as 12", "rlimit_as"),
                          ("rlimit_cpu 0", "rlimit_cpu")):
            with self.subTest(args=args):
                d = self.start_spp("[mail]\n", spp=f"spp timeout 3 {args}", wait=False, check_exit=False)
                self.assertIsNotNone(d.wait(20))
                self.assertNotEqual(d.returncode, 0)
                self.assertRegex(d.stderr_text(), r"plugins:1: .*" + why)


if __name__ == "__main__":
    unittest.main()


class SppProgramPolicyTest(SppTestCase):
    """asmtpd.yaml spp_programs (SPP.md 5.2.3): per-line timeout and on_timeout: continue."""

    SLEEPER = ":sleep 30"

    def test_on_timeout_continue_fails_open_and_the_chain_goes_on(self):
        d = self.start_spp(f"[mail]\n{self.SLEEPER}\n{record('M', 'SMTPMAILFROM')}\n", spp="spp timeout 30",
                           settings={"spp_programs": {self.SLEEPER: {"timeout": 1, "on_timeout": "continue"}}})
        c = self.session(d)
        t0 = time.monotonic()
        c.cmd("MAIL FROM:<s@example.test>", 250, timeout=15)
        self.assertLess(time.monotonic() - t0, 10)
        self.assertEqual(self.lines(d), ["M SMTPMAILFROM='s@example.test'"])
        c.cmd("QUIT", 221)
        self.assertIn("on_timeout continue", d.stderr_text())

    def test_a_per_line_timeout_without_continue_is_a_qmail_spp_failure(self):
        d = self.start_spp(f"[mail]\n{self.SLEEPER}\n{record('M', 'SMTPMAILFROM')}\n", spp="spp timeout 30",
                           settings={"spp_programs": {self.SLEEPER: {"timeout": 1}}})
        c = self.session(d)
        t0 = time.monotonic()
        self.assertReply(c.cmd("MAIL FROM:<s@example.test>", 451, timeout=15), failure(self.SLEEPER, "timeout"))
        self.assertLess(time.monotonic() - t0, 10)
        self.assertEqual(self.lines(d), [])

    def test_the_command_budget_is_never_failed_open(self):
        d = self.start_spp(f"[mail]\n{self.SLEEPER}\n{record('M', 'SMTPMAILFROM')}\n", spp="spp timeout 30 budget 1",
                           settings={"spp_programs": {self.SLEEPER: {"timeout": 20, "on_timeout": "continue"}}})
        c = self.session(d)
        c.cmd("MAIL FROM:<s@example.test>", 451, timeout=15)
        self.assertEqual(self.lines(d), [])

    def test_a_policy_for_a_line_that_is_not_there_is_reported_at_start_up(self):
        d = self.start_spp("[mail]\n", settings={"spp_programs": {":not-a-line": {"timeout": 1}}})
        self.assertIn("':not-a-line' is not a line of", d.stderr_text())

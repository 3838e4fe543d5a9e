"""test_spp_sandbox.py - spp programs under another uid/gid and with rlimits (SPP.md 5.2.1: the
`user`, `rlimit_cpu`, `rlimit_as` arguments of the spp line), against the real daemon; and that
a bad sandbox argument stops start-up with the plugins file and line. Owner: spp.
"""

import os
import unittest

from spp_support import SppTestCase

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

"""test_install.py - `cmake --install` lays asmtpd out as the FHS wants it (issue 15), and the
installed daemon checks its installed configuration and runs from it.

Installs the build the tests run (ASMTPD_BIN's build dir) with --prefix /usr into a DESTDIR.
Owner: tooling (t/e2e/).
"""

import os
import shutil
import subprocess
import tempfile
import unittest

from harness import BIN, E2ETestCase

BUILD = os.path.dirname(BIN)


class InstallTest(E2ETestCase):

    def setUp(self):
        self.dest = tempfile.mkdtemp(prefix="asmtpd-install-")
        self.addCleanup(shutil.rmtree, self.dest, True)
        env = dict(os.environ, DESTDIR=self.dest)
        r = subprocess.run(["cmake", "--install", BUILD, "--prefix", "/usr"], env=env, capture_output=True,
                           text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def path(self, p):
        return os.path.join(self.dest, p.lstrip("/"))

    def test_fhs_layout(self):
        for p in ("/usr/sbin/asmtpd", "/usr/bin/asmtpd-plugtest", "/usr/lib/asmtpd/asmtpd-exec"):
            self.assertTrue(os.access(self.path(p), os.X_OK), p + " is not an installed executable")
        for p in ("/etc/asmtpd/asmtpd.yaml", "/etc/asmtpd/plugins", "/etc/asmtpd/rcpthosts",
                  "/lib/systemd/system/asmtpd.service", "/usr/share/doc/asmtpd/README.md",
                  "/usr/share/doc/asmtpd/OPERATIONS.md"):
            self.assertTrue(os.path.isfile(self.path(p)), p + " not installed")
        for p in ("/var/spool/asmtpd", "/usr/lib/asmtpd/plugins"):
            self.assertTrue(os.path.isdir(self.path(p)), p + " not created")
        # The development config's relative paths and `me` (localhost) stay out of /etc.
        yaml = open(self.path("/etc/asmtpd/asmtpd.yaml")).read()
        self.assertIn("spool_dir: /var/spool/asmtpd", yaml)
        self.assertIn("user: asmtpd", yaml)
        self.assertFalse(os.path.exists(self.path("/etc/asmtpd/me")))
        self.assertNotIn("./var", open(self.path("/etc/asmtpd/plugins")).read().split("Until then")[1])

    def test_installed_daemon_checks_installed_config(self):
        # The installed config names /var/spool and the asmtpd user, which this machine may not
        # have: check a copy with the spool in the DESTDIR, run as whoever runs the tests.
        etc = self.path("/etc/asmtpd")
        spool = self.path("/var/spool/asmtpd")
        yaml = open(os.path.join(etc, "asmtpd.yaml")).read().replace("/var/spool/asmtpd", spool)
        yaml = yaml.replace("user: asmtpd", "user: root" if os.geteuid() == 0 else "")
        with open(os.path.join(etc, "asmtpd.yaml"), "w") as f:
            f.write(yaml)
        plugins = open(os.path.join(etc, "plugins")).read().replace("/var/spool/asmtpd", spool)
        with open(os.path.join(etc, "plugins"), "w") as f:
            f.write(plugins)
        r = subprocess.run([self.path("/usr/sbin/asmtpd"), "--check", "--config", etc], capture_output=True,
                           text=True, timeout=60, cwd="/")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("configuration OK", r.stdout)


if __name__ == "__main__":
    unittest.main()

"""test_install.py - `cmake --install` lays asmtpd out as the FHS wants it (issue 15), and the
installed daemon checks its installed configuration and runs from it.

Installs the build the tests run (ASMTPD_BIN's build dir) into a DESTDIR with the prefix it was
configured with (/usr/local unless CMAKE_INSTALL_PREFIX says otherwise; the package configures
/usr, which puts the config in /etc and the spool in /var).
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
        r = subprocess.run(["cmake", "--install", BUILD], env=env, capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.prefix = "/usr/local"
        with open(os.path.join(BUILD, "CMakeCache.txt")) as f:
            for line in f:
                if line.startswith("CMAKE_INSTALL_PREFIX:"):
                    self.prefix = line.split("=", 1)[1].strip()
        # GNUInstallDirs: /usr puts etc and var at the root, any other prefix below itself.
        self.etc = "/etc" if self.prefix == "/usr" else self.prefix + "/etc"
        self.var = "/var" if self.prefix == "/usr" else self.prefix + "/var"

    def path(self, p):
        return os.path.join(self.dest, p.lstrip("/"))

    def test_fhs_layout(self):
        pre = self.prefix
        for p in (pre + "/sbin/asmtpd", pre + "/sbin/asmtpd-ctl", pre + "/bin/asmtpd-plugtest",
                  pre + "/lib/asmtpd/asmtpd-exec"):
            self.assertTrue(os.access(self.path(p), os.X_OK), p + " is not an installed executable")
        for p in (self.etc + "/asmtpd/asmtpd.yaml", self.etc + "/asmtpd/plugins", self.etc + "/asmtpd/rcpthosts",
                  pre + "/lib/systemd/system/asmtpd.service", pre + "/share/doc/asmtpd/README.md",
                  pre + "/share/doc/asmtpd/OPERATIONS.md"):
            self.assertTrue(os.path.isfile(self.path(p)), p + " not installed")
        for p in (self.var + "/spool/asmtpd", pre + "/lib/asmtpd/plugins"):
            self.assertTrue(os.path.isdir(self.path(p)), p + " not created")
        # The man pages, when this build made them (ASMTPD_MANPAGES=AUTO and pandoc installed);
        # their sources (docs/man) are not docs.
        if os.path.isdir(os.path.join(BUILD, "man")):
            for page in ("man8/asmtpd.8", "man8/asmtpd-ctl.8", "man5/asmtpd.yaml.5", "man7/asmtpd-plugins.7", "man1/asmtpd-plugtest.1"):
                self.assertTrue(os.path.isfile(self.path(pre + "/share/man/" + page)), page + " not installed")
        self.assertFalse(os.path.exists(self.path(pre + "/share/doc/asmtpd/man")))
        # The development config's relative paths and `me` (localhost) stay out of /etc.
        yaml = open(self.path(self.etc + "/asmtpd/asmtpd.yaml")).read()
        self.assertIn("spool_dir: /var/spool/asmtpd", yaml)
        self.assertIn("user: asmtpd", yaml)
        self.assertIn("socket: /run/asmtpd/control", yaml)
        self.assertFalse(os.path.exists(self.path(self.etc + "/asmtpd/me")))
        self.assertNotIn("./var", open(self.path(self.etc + "/asmtpd/plugins")).read().split("Until then")[1])

    def test_installed_daemon_checks_installed_config(self):
        # The installed config names /var/spool and the asmtpd user, which this machine may not
        # have: check a copy with the spool in the DESTDIR, run as whoever runs the tests.
        etc = self.path(self.etc + "/asmtpd")
        spool = self.path(self.var + "/spool/asmtpd")
        yaml = open(os.path.join(etc, "asmtpd.yaml")).read().replace("/var/spool/asmtpd", spool)
        yaml = yaml.replace("user: asmtpd", "user: root" if os.geteuid() == 0 else "")
        with open(os.path.join(etc, "asmtpd.yaml"), "w") as f:
            f.write(yaml)
        plugins = open(os.path.join(etc, "plugins")).read().replace("/var/spool/asmtpd", spool)
        with open(os.path.join(etc, "plugins"), "w") as f:
            f.write(plugins)
        r = subprocess.run([self.path(self.prefix + "/sbin/asmtpd"), "--check", "--config", etc], capture_output=True,
                           text=True, timeout=60, cwd="/")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("configuration OK", r.stdout)


if __name__ == "__main__":
    unittest.main()

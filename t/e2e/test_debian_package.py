"""test_debian_package.py - the Debian package (debian/, issue 15): built from the tree, installed
with dpkg on this machine, run exactly as its systemd unit runs it, and purged.

1. dpkg-buildpackage -us -uc -b in a copy of the tree, with ASMTPD_PREBUILT_DIR naming the
   release build scripts/test already compiled (build/, prefix /usr; $ASMTPD_PREBUILT_DIR
   overrides it): the package holds those binaries, nothing is compiled twice. No -dbgsym
   package, gzip -1 instead of xz: the test checks the package, not its compression.
2. dpkg --no-triggers -i: man-db's trigger (it re-indexes every man page: 12 s here, at each
   install and purge) is left pending for the next dpkg run to process. The postinst made the `asmtpd` system user and gave it the spool; every file under
   /etc/asmtpd is a conffile (dpkg-query ${Conffiles}); the unit is installed and enabled (its
   multi-user.target.wants link), `systemd-analyze verify` passes on it; the man pages are there.
   Where systemd runs, a policy-rc.d (only if none exists) keeps the postinst from starting the
   service on port 25.
3. The unit's ExecStartPre and ExecStart lines, read from the installed unit, run as systemd
   would run them (root, cwd /, a bare environment, NOTIFY_SOCKET for Type=notify): systemd is
   not PID 1 here. The command line is fixed (--config /etc/asmtpd), so like a drop-in the test
   changes only the listener in the installed /etc/asmtpd/asmtpd.yaml: 127.0.0.1 and a free port
   instead of 0.0.0.0:25 (loopback only, as every test server); the original bytes are written
   back afterwards, and `dpkg --verify` proves it. READY=1 comes from the main pid, a message
   sent with smtplib lands in /var/spool/asmtpd/maildir/new owned by asmtpd, the daemon runs as
   asmtpd, `asmtpd-ctl status` answers on the control socket the installed config turns on (in
   /run/asmtpd, the unit's RuntimeDirectory, which the test makes as systemd would), and SIGTERM
   to its pid ends it with status 0.
4. dpkg --purge removes /etc/asmtpd, the unit and its enable link, and the (emptied) spool. The
   asmtpd account stays by design (debian/asmtpd.postrm); the test deletes it only when the
   test's own install created it.
Needs root (dpkg); skipped otherwise. Owner: tooling (t/e2e/, debian/).
"""

import grp
import os
import pwd
import re
import shlex
import shutil
import signal
import smtplib
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

import test_systemd as systemd_support  # NotifySocket: the service manager's end of sd_notify
from harness import REPO, free_port

PREBUILT = Path(os.environ.get("ASMTPD_PREBUILT_DIR", str(REPO / "build"))).resolve()
UNIT = Path("/lib/systemd/system/asmtpd.service")
ETC = Path("/etc/asmtpd")
SPOOL = Path("/var/spool/asmtpd")
WANTS_LINK = Path("/etc/systemd/system/multi-user.target.wants/asmtpd.service")
POLICY = Path("/usr/sbin/policy-rc.d")
# What systemd gives a system service: no inherited environment.
SERVICE_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
# The tree without build output: dpkg-buildpackage writes next to the tree and into debian/.
COPY_IGNORE = shutil.ignore_patterns(".git", "build", "build-*", "var", "__pycache__", "*.pyc", "obj-*")


def run(argv, timeout=120, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)


def package_status():
    """dpkg's status of asmtpd: "install ok installed", "deinstall ok config-files", or
    something with "not-installed" in it once it is gone."""
    r = run(["dpkg-query", "-W", "-f=${Status}", "asmtpd"])
    return r.stdout.strip() if r.returncode == 0 else "not-installed"


def package_present():
    return "not-installed" not in package_status()


def unit_command(unit_text, key):
    """The argv of the unit's `key=` line (one line each here; systemd's prefixes refused)."""
    lines = re.findall(rf"(?m)^{key}=(.*)$", unit_text)
    if len(lines) != 1:
        raise AssertionError(f"{UNIT}: expected one {key}= line, found {lines}")
    argv = shlex.split(lines[0])
    if argv[0][0] in "-@+!:":
        raise AssertionError(f"{UNIT}: {key}= with a prefix ({argv[0]}) is not run by this test")
    return argv


@unittest.skipUnless(os.geteuid() == 0, "installs a package: needs root")
class DebianPackageTest(unittest.TestCase):

    maxDiff = 4000

    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="asmtpd-deb-"))
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.user_existed = self._exists(pwd.getpwnam, "asmtpd")
        self.group_existed = self._exists(grp.getgrnam, "asmtpd")
        self.proc = None

    @staticmethod
    def _exists(lookup, name):
        try:
            lookup(name)
            return True
        except KeyError:
            return False

    def test_build_install_run_purge(self):
        times = [("start", time.monotonic())]
        deb = self.build_package()
        times.append(("build", time.monotonic()))
        self.install(deb)
        times.append(("install", time.monotonic()))
        self.check_installed()
        times.append(("check", time.monotonic()))
        self.run_as_the_unit_does()
        times.append(("run", time.monotonic()))
        self.purge()
        times.append(("purge", time.monotonic()))
        steps = ", ".join(f"{name} {t - times[i][1]:.1f}s" for i, (name, t) in enumerate(times[1:]))
        print(f"\ndebian package: {steps}; all {times[-1][1] - times[0][1]:.1f}s")

    # 1. dpkg-buildpackage on the prebuilt release tree
    def build_package(self):
        self.assertTrue((PREBUILT / "asmtpd").is_file(),
                        f"{PREBUILT}/asmtpd missing: run scripts/build release asmtpd first (or set ASMTPD_PREBUILT_DIR)")
        src = self.tmp / "asmtpd"
        shutil.copytree(REPO, src, ignore=COPY_IGNORE, symlinks=True)
        env = dict(os.environ, ASMTPD_PREBUILT_DIR=str(PREBUILT), DEB_BUILD_OPTIONS="noddebs nocheck",
                   DPKG_DEB_COMPRESSOR_TYPE="gzip", DPKG_DEB_COMPRESSOR_LEVEL="1")
        # A fresh copy: nothing to clean first (dh clean would run a dozen dh_* tools).
        r = run(["dpkg-buildpackage", "-us", "-uc", "-b", "--no-pre-clean"], cwd=src, env=env, timeout=600)
        self.assertEqual(r.returncode, 0, f"dpkg-buildpackage failed:\n{(r.stdout + r.stderr)[-6000:]}")
        debs = sorted(self.tmp.glob("asmtpd_*.deb"))
        self.assertEqual(len(debs), 1, f"expected one asmtpd .deb in {self.tmp}: {list(self.tmp.iterdir())}")
        return debs[0]

    # 2. dpkg -i, and what the package put where
    def install(self, deb):
        self.addCleanup(self.cleanup_machine)
        if Path("/run/systemd/system").is_dir() and not POLICY.exists():
            POLICY.write_text("#!/bin/sh\nexit 101\n")
            POLICY.chmod(0o755)
            self.addCleanup(POLICY.unlink)
        r = run(["dpkg", "--no-triggers", "-i", str(deb)], env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        self.assertEqual(r.returncode, 0, f"dpkg -i failed:\n{r.stdout}{r.stderr}")
        self.assertEqual(package_status(), "install ok installed")

    def check_installed(self):
        user = pwd.getpwnam("asmtpd")
        self.assertLess(user.pw_uid, 1000, "asmtpd must be a system user")
        self.assertEqual(grp.getgrgid(user.pw_gid).gr_name, "asmtpd")
        st = SPOOL.stat()
        self.assertEqual((st.st_uid, st.st_mode & 0o777), (user.pw_uid, 0o700), "the spool is asmtpd's, 0700")

        r = run(["dpkg-query", "-W", "-f=${Conffiles}", "asmtpd"])
        conffiles = {line.split()[0] for line in r.stdout.splitlines() if line.strip()}
        etc_files = {str(p) for p in ETC.rglob("*") if p.is_file()}
        self.assertIn(str(ETC / "asmtpd.yaml"), conffiles)
        self.assertIn(str(ETC / "plugins"), conffiles)
        self.assertEqual(etc_files - conffiles, set(), "every file under /etc/asmtpd is a conffile")

        for p in ("/usr/sbin/asmtpd", "/usr/sbin/asmtpd-ctl", "/usr/bin/asmtpd-plugtest", "/usr/lib/asmtpd/asmtpd-exec"):
            self.assertTrue(os.access(p, os.X_OK), p)
        for page in ("man8/asmtpd.8.gz", "man8/asmtpd-ctl.8.gz", "man5/asmtpd.yaml.5.gz", "man7/asmtpd-plugins.7.gz",
                     "man1/asmtpd-plugtest.1.gz"):
            self.assertTrue(Path("/usr/share/man", page).is_file(), page + " not installed")
        self.assertTrue(UNIT.is_file(), f"{UNIT} not installed")
        self.assertEqual(os.path.realpath(WANTS_LINK), os.path.realpath(UNIT), "the unit is not enabled")
        if shutil.which("systemd-analyze"):
            r = run(["systemd-analyze", "verify", str(UNIT)], timeout=60)
            complaints = [line for line in (r.stdout + r.stderr).splitlines() if "asmtpd.service" in line]
            self.assertEqual((r.returncode, complaints), (0, []), r.stdout + r.stderr)

    # 3. the unit's command lines, on a test port
    def run_as_the_unit_does(self):
        unit = UNIT.read_text()
        pre, start = unit_command(unit, "ExecStartPre"), unit_command(unit, "ExecStart")
        self.assertEqual(start[:3], ["/usr/sbin/asmtpd", "--config", str(ETC)])

        yaml_path = ETC / "asmtpd.yaml"
        original = yaml_path.read_bytes()
        self.addCleanup(lambda: package_present() and yaml_path.exists() and yaml_path.write_bytes(original))
        port = free_port()
        text, n = re.subn(r"(?m)^  - address: 0\.0\.0\.0\n    port: 25$",
                          f"  - address: 127.0.0.1\n    port: {port}", original.decode())
        self.assertEqual(n, 1, f"the shipped listener (0.0.0.0:25) is not in {yaml_path}:\n{original.decode()}")
        yaml_path.write_text(text)

        # systemd makes the unit's RuntimeDirectory (/run/asmtpd: the control socket's) and
        # StateDirectory before ExecStartPre, owned by its User= (none: root), and removes the
        # runtime one when the service stops.
        for key, base in (("RuntimeDirectory", "/run"), ("StateDirectory", "/var/lib")):
            for name in " ".join(re.findall(rf"(?m)^{key}=(.*)$", unit)).split():
                d = Path(base, name)
                if not d.exists():
                    d.mkdir(mode=0o755)
                    if key == "RuntimeDirectory":
                        self.addCleanup(shutil.rmtree, d, True)

        r = run(pre, cwd="/", env=SERVICE_ENV, timeout=60)
        self.assertEqual(r.returncode, 0, f"ExecStartPre {pre}:\n{r.stdout}{r.stderr}")

        ns = systemd_support.NotifySocket()
        self.addCleanup(ns.close)
        # systemd's notify socket is reachable by every user: the daemon notifies after its drop.
        os.chmod(ns.dir, 0o755)
        os.chmod(ns.path, 0o666)
        err = open(self.tmp / "asmtpd.stderr", "w+")
        self.addCleanup(err.close)
        self.proc = subprocess.Popen(start, cwd="/", env=dict(SERVICE_ENV, NOTIFY_SOCKET=ns.path),
                                     stdin=subprocess.DEVNULL, stdout=err, stderr=err)
        self.addCleanup(self.stop_daemon)
        stderr = lambda: (self.tmp / "asmtpd.stderr").read_text()[-4000:]  # noqa: E731
        try:
            got = ns.wait_for("READY", "1", timeout=20)
        except AssertionError as e:
            self.fail(f"{e} (exit status {self.proc.poll()})\n{stderr()}")
        self.assertEqual(got[0], self.proc.pid, "READY=1 must come from the main pid")

        uid = pwd.getpwnam("asmtpd").pw_uid
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        uids = re.search(r"(?m)^Uid:\s+(.*)$", status).group(1).split()
        self.assertEqual(set(uids), {str(uid)}, f"the daemon runs as {uids}, not asmtpd ({uid})")

        marker = f"deb-test-{os.getpid()}-{time.time_ns()}"
        msg = f"From: a@example.org\r\nTo: someone@example.test\r\nSubject: {marker}\r\n\r\nhello\r\n"
        with smtplib.SMTP("127.0.0.1", port, timeout=15) as s:
            s.ehlo("client.example.org")
            refused = s.sendmail("a@example.org", ["someone@example.test"], msg)
        self.assertEqual(refused, {})
        new = SPOOL / "maildir" / "new"
        found = [p for p in new.iterdir() if marker in p.read_text(errors="replace")]
        self.assertEqual(len(found), 1, f"the message is not in {new}: {list(new.iterdir())}\n{stderr()}")
        self.assertEqual(found[0].stat().st_uid, uid)
        found[0].unlink()   # the test's own mail: the purge below then removes the spool

        # The installed config turns the control socket on: its client answers as root.
        r = run(["/usr/sbin/asmtpd-ctl", "status"], timeout=30)
        self.assertEqual(r.returncode, 0, f"asmtpd-ctl status:\n{r.stdout}{r.stderr}\n{stderr()}")

        self.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.proc.wait(30), 0, stderr())
        yaml_path.write_bytes(original)
        r = run(["dpkg", "--verify", "asmtpd"])
        self.assertEqual((r.returncode, r.stdout), (0, ""), f"installed files changed:\n{r.stdout}{r.stderr}")

    def stop_daemon(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    # 4. purge
    def purge(self):
        r = run(["dpkg", "--no-triggers", "--purge", "asmtpd"])
        self.assertEqual(r.returncode, 0, f"dpkg --purge failed:\n{r.stdout}{r.stderr}")
        self.assertFalse(package_present(), package_status())
        for p in (ETC, UNIT, SPOOL, Path("/var/lib/asmtpd"), Path("/usr/sbin/asmtpd")):
            self.assertFalse(p.exists(), f"{p} is still there after the purge")
        self.assertFalse(os.path.lexists(WANTS_LINK), "the enable link outlived the purge")

    def cleanup_machine(self):
        """Leaves the machine as the test found it, even after a failure."""
        self.stop_daemon()
        if package_present():
            run(["dpkg", "--no-triggers", "--purge", "asmtpd"])
        if not self.user_existed and self._exists(pwd.getpwnam, "asmtpd"):
            run(["deluser", "--system", "--quiet", "asmtpd"])
        if not self.group_existed and self._exists(grp.getgrnam, "asmtpd"):
            run(["delgroup", "--system", "--quiet", "asmtpd"])
        if not self.user_existed and SPOOL.exists():
            shutil.rmtree(SPOOL, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()

"""test_privilege_drop.py - asmtpd.yaml's user:/group: against the real daemon started as root
(core/smtp/privileges.hpp): it binds a port below 1024, then every process (the supervisor and
each worker) runs as nobody, per /proc/PID/status; mail arrives in a maildir nobody owns; spp
programs, qmail-queue and .so plugins run as nobody; the spool it creates is nobody's, 0700.
And the refusals: root without user:, a spool nobody cannot write, spp's per-program `user`
once the daemon is no longer root. Skipped unless the tests run as root (CI does).

The temporary directory is made traversable (0755) for nobody, and what nobody must write is
given to nobody; nothing outside it is touched. Owner: privileges (core/smtp/privileges.cpp).
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402
from harness import REPO, E2ETestCase, run_asmtpd  # noqa: E402

harness.BIN = os.path.abspath(harness.BIN)
FIXTURES = Path(harness.BIN).parent / "fixtures"
NOBODY = 65534
NOGROUP = 65534
# Ids in the probes' replies: "uid=<real>/<effective> gid=<real>/<effective>".
AS_NOBODY = f"uid={NOBODY}/{NOBODY} gid={NOGROUP}/{NOGROUP}"
ID_REPORT = ':echo "E550 uid=$(id -ru)/$(id -u) gid=$(id -rg)/$(id -g) groups=$(id -G)"'
# A qmail-queue stand-in that records its ids, to be installed setuid like qmail's (4711 qmailq).
QQ_PROBE_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int main(void) {
    char buf[4096];
    while (read(0, buf, sizeof buf) > 0) {}
    while (read(1, buf, sizeof buf) > 0) {}
    FILE *f = fopen(getenv("QQ_RECORD"), "a");
    if (!f) return 53;
    fprintf(f, "qq uid=%ld/%ld\n", (long)getuid(), (long)geteuid());
    fclose(f);
    return 0;
}
"""


def free_privileged_port():
    """A port below 1024 on 127.0.0.1 that nobody listens on now (we are root)."""
    for port in list(range(587, 1000)) + list(range(200, 587)):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise unittest.SkipTest("no free port below 1024 on 127.0.0.1")


def status_ids(pid):
    """{Uid: [...], Gid: [...], Groups: [...]} from /proc/PID/status."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("Uid", "Gid", "Groups"):
                out[key] = [int(x) for x in value.split()]
    return out


def children_of(pid):
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(entry))
    return kids


@unittest.skipUnless(os.geteuid() == 0, "the privilege drop needs the tests to run as root")
class PrivilegeDropTest(E2ETestCase):

    def daemon(self, plugins=None, settings=None, env=None, port=None):
        """A daemon (not started) with user: nobody on a privileged port, its temporary
        directory readable by nobody, its maildir's parent and scratch dir nobody's."""
        port = port or free_privileged_port()
        base = {"user": "nobody", "listen": [{"address": "127.0.0.1", "port": port, "mode": "smtp"}]}
        d = harness.Daemon(plugins=plugins, settings=harness.deep_merge(base, settings or {}), env=env)
        self._daemons.append(d)
        d.port = port
        os.chmod(d.tmp, 0o755)
        os.chmod(d.config_dir, 0o755)
        # The daemon makes its own maildir and spool (as nobody): only their parent is given.
        shutil.rmtree(d.maildir_path)
        shutil.rmtree(d.spool_dir)
        d.box = d.tmp / "box"
        d.box.mkdir(mode=0o700)
        os.chown(d.box, NOBODY, NOGROUP)
        d.maildir_path = d.box / "mail"
        d.plugins = [p.replace("{maildir}", str(d.maildir_path)) for p in d.plugins]
        d.write_config()
        return d

    def assert_nobody(self, pid):
        ids = status_ids(pid)
        self.assertEqual(ids["Uid"], [NOBODY] * 4, f"pid {pid}: {ids}")
        self.assertEqual(ids["Gid"], [NOGROUP] * 4, f"pid {pid}: {ids}")
        self.assertNotIn(0, ids["Groups"], f"pid {pid}: {ids}")
        self.assertEqual(ids["Groups"], [NOGROUP], f"pid {pid}: {ids}")

    def deliver_one(self, d):
        c = self.client(d)
        c.ehlo()
        self.assertEqual(c.send_mail().code, 250)
        c.cmd("QUIT", 221)

    def test_every_process_runs_as_nobody_and_serves_a_privileged_port(self):
        d = self.daemon(settings={"workers": 2})
        d.start()
        self.assert_nobody(d.proc.pid)
        workers = children_of(d.proc.pid)
        self.assertEqual(len(workers), 2, workers)
        for w in workers:
            self.assert_nobody(w)
        for _ in range(3):
            self.deliver_one(d)
        self.assertIsNotNone(d.wait_for_log(r"running as user nobody \(uid 65534, gid 65534\)"))

        # What it created is nobody's and private: the spool 0700, the maildir 0700, mail 0600.
        spool = os.stat(d.spool_dir)
        self.assertEqual((spool.st_uid, spool.st_gid, spool.st_mode & 0o777), (NOBODY, NOGROUP, 0o700))
        for sub in ("new", "cur", "tmp"):
            st = os.stat(d.maildir_path / sub)
            self.assertEqual((st.st_uid, st.st_mode & 0o777), (NOBODY, 0o700), sub)
        mails = list((d.maildir_path / "new").iterdir())
        self.assertEqual(len(mails), 3)
        for m in mails:
            st = os.stat(m)
            self.assertEqual((st.st_uid, st.st_gid, st.st_mode & 0o777), (NOBODY, NOGROUP, 0o600), m)

        # A worker killed by a signal comes back on the same socket, still nobody, without
        # binding anything (it could not: the port is below 1024).
        time.sleep(1.2)   # a worker that dies in its first second stops the daemon (workers.hpp)
        os.kill(workers[0], 9)
        self.assertIsNotNone(d.wait_for_log(r"worker \d \(pid \d+\) killed by signal 9 \(SIGKILL\)", timeout=10))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            now = children_of(d.proc.pid)
            if len(now) == 2 and workers[0] not in now:
                break
            time.sleep(0.1)
        self.assertEqual(len(now), 2, now)
        self.assertNotIn(workers[0], now)
        for w in now:
            self.assert_nobody(w)
        for _ in range(4):
            self.deliver_one(d)
        self.assertEqual(len(list((d.maildir_path / "new").iterdir())), 7)

    def test_root_without_user_is_refused_naming_the_key(self):
        d = self.daemon(settings={"user": None})
        p = run_asmtpd(["--config", str(d.config_dir)], timeout=20)
        err = p.stderr.decode(errors="replace")
        self.assertEqual(p.returncode, 1, err)
        self.assertRegex(err, r"asmtpd\.yaml:1: user: not set, and asmtpd was started as root")
        self.assertIn("user: root", err)
        with socket.socket() as s:   # and nothing was bound
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", d.port))
        # --check says the same.
        p = run_asmtpd(["--config", str(d.config_dir), "--check"], timeout=20)
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"user: not set", p.stderr)

    def test_unknown_user_is_refused_at_its_line(self):
        d = self.daemon(settings={"user": "asmtpd-no-such-user"})
        p = run_asmtpd(["--config", str(d.config_dir), "--check"], timeout=20)
        err = p.stderr.decode(errors="replace")
        self.assertEqual(p.returncode, 1, err)
        line = next(i for i, ln in enumerate((d.config_dir / "asmtpd.yaml").read_text().splitlines(), 1)
                    if ln.startswith("user:"))
        self.assertIn(f"asmtpd.yaml:{line}: user: no such user 'asmtpd-no-such-user'", err)

    def test_check_judges_the_spool_as_start_up_makes_it_before_the_drop(self):
        # The spool's parent is root's: nobody could not create it, but start-up creates it as
        # root before dropping, so --check (which creates nothing) accepts it.
        d = self.daemon()
        p = run_asmtpd(["--config", str(d.config_dir), "--check"], timeout=20)
        self.assertEqual(p.returncode, 0, p.stderr.decode(errors="replace"))
        self.assertFalse(d.spool_dir.exists())

    def test_a_spool_nobody_cannot_write_is_refused_at_start(self):
        d = self.daemon()
        d.spool_dir.mkdir(mode=0o700)   # root's, as an old root-run daemon would have left it
        p = run_asmtpd(["--config", str(d.config_dir)], timeout=20)
        err = p.stderr.decode(errors="replace")
        self.assertEqual(p.returncode, 1, err)
        self.assertRegex(err, r"asmtpd\.yaml: spool_dir: .* is not writable by uid 65534")

    def test_spp_programs_run_as_nobody(self):
        d = self.daemon(plugins=["spp timeout 5", "rcpt_ok", "queue/maildir {maildir}"],
                        settings={"user": "nobody"})
        d.files["smtpplugins"] = f"[mail]\n{ID_REPORT}\n"
        d.write_config()
        d.start()
        c = self.client(d)
        c.ehlo()
        r = c.cmd("MAIL FROM:<s@example.test>", 550)
        self.assertIn(f"uid={NOBODY}/{NOBODY} gid={NOGROUP}/{NOGROUP} groups={NOGROUP}", r.text)

    def test_spp_user_needs_a_daemon_that_stays_root(self):
        # Design (docs/OPERATIONS.md): spp's per-program user is a setuid in the child, which
        # an unprivileged daemon cannot do; start-up refuses the pair and says why.
        d = self.daemon(plugins=["spp timeout 5 user daemon", "rcpt_ok", "queue/maildir {maildir}"])
        d.files["smtpplugins"] = f"[mail]\n{ID_REPORT}\n"
        d.write_config()
        p = run_asmtpd(["--config", str(d.config_dir)], timeout=20)
        err = p.stderr.decode(errors="replace")
        self.assertEqual(p.returncode, 1, err)
        self.assertRegex(err, r"plugins:1: .*user: .*needs asmtpd to run as root.*user: root")
        # user: root keeps it working as before.
        d2 = self.daemon(plugins=["spp timeout 5 user nobody cwd /", "rcpt_ok", "queue/maildir {maildir}"],
                         settings={"user": "root"})
        d2.files["smtpplugins"] = f"[mail]\n{ID_REPORT}\n"
        d2.write_config()
        d2.start()
        c = self.client(d2)
        c.ehlo()
        self.assertIn(f"uid={NOBODY}/{NOBODY}", c.cmd("MAIL FROM:<s@example.test>", 550).text)

    def test_a_tls_key_only_root_can_read_is_read_before_the_drop_and_kept_on_reload(self):
        from tls_support import TlsClient, client_context, make_cert, tls_settings
        cert = make_cert("privdrop")   # in a 0700 directory of root's, the key 0600
        d = self.daemon(settings=tls_settings(cert))
        d.start()

        def starttls_works():
            c = TlsClient.connect(d.port)
            c.ehlo()
            c.starttls(client_context(cert))
            c.ehlo()
            c.cmd("QUIT", 221)
            c.close()

        starttls_works()
        d.signal(signal.SIGHUP)
        self.assertIsNotNone(d.wait_for_log(r"reload: \S*asmtpd\.yaml:\d+: tls\.(cert|key): .*keeping the certificate and key "
                                            r"already loaded", timeout=10), d.stderr_tail())
        self.assertIsNotNone(d.wait_for_log(r"configuration reloaded", timeout=10))
        starttls_works()

    def test_user_on_the_command_line_replaces_user_and_group(self):
        # What scripts/run passes when started as root.
        d = self.daemon(settings={"user": None, "group": "daemon"}, plugins=["spp timeout 5", "rcpt_ok",
                                                                             "queue/maildir {maildir}"])
        d.files["smtpplugins"] = f"[mail]\n{ID_REPORT}\n"
        d.write_config()
        d.args = ["--user", "nobody"]
        d.start()
        self.assert_nobody(d.proc.pid)
        c = self.client(d)
        c.ehlo()
        self.assertIn(f"uid={NOBODY}/{NOBODY} gid={NOGROUP}/{NOGROUP}", c.cmd("MAIL FROM:<s@example.test>", 550).text)
        p = run_asmtpd(["--config", str(d.config_dir), "--user", "asmtpd-no-such-user", "--check"], timeout=20)
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"--user:1: user: no such user 'asmtpd-no-such-user'", p.stderr)

    def test_a_password_file_others_can_read_gives_a_warning(self):
        d = self.daemon(plugins=["auth/flat_file", "rcpt_ok", "queue/maildir {maildir}"])
        d.files["flat_auth_pw"] = "u:$6$saltsalt$" + "x" * 86 + "\n"
        d.write_config()
        os.chmod(d.config_dir / "flat_auth_pw", 0o644)
        d.start()
        self.assertRegex(d.stderr_text(), r"asmtpd: warning: \S*plugins:1: plugin 'auth/flat_file': \S*flat_auth_pw "
                                          r"is readable by other users")

    @unittest.skipUnless((FIXTURES / "ids_probe.so").exists(), "dso fixtures not built (fixture_* targets)")
    def test_a_dso_plugin_loads_and_runs_as_nobody(self):
        record_dir = Path(tempfile.mkdtemp(prefix="asmtpd-ids-"))
        self.addCleanup(shutil.rmtree, record_dir, True)
        os.chmod(record_dir, 0o777)
        record = record_dir / "ids"
        d = self.daemon(plugins=[f"dso {FIXTURES / 'ids_probe.so'}", "rcpt_ok", "queue/maildir {maildir}"],
                        env={"DSO_RECORD": str(record)})
        d.start()
        self.deliver_one(d)
        lines = record.read_text().splitlines()
        self.assertEqual(lines, [f"init {AS_NOBODY}", f"mail {AS_NOBODY}"])

    @unittest.skipUnless(shutil.which("cc"), "needs a C compiler for the setuid qmail-queue probe")
    def test_a_setuid_qmail_queue_still_runs_as_its_owner(self):
        # qmail-queue is installed setuid qmailq (mode 4711): exec'd by nobody it still runs as
        # its owner. The probe is owned by `daemon` (uid 1) to tell the two apart.
        work = Path(tempfile.mkdtemp(prefix="asmtpd-qq-"))
        self.addCleanup(shutil.rmtree, work, True)
        os.chmod(work, 0o777)
        (work / "qq.c").write_text(QQ_PROBE_C)
        probe = work / "qmail-queue"
        subprocess.run(["cc", "-o", str(probe), str(work / "qq.c")], check=True, timeout=60)
        os.chown(probe, 1, 1)
        os.chmod(probe, 0o4711)
        record = work / "record"
        d = self.daemon(plugins=["rcpt_ok", f"queue/qmail-queue {probe} env QQ_RECORD={record}"])
        d.start()
        self.deliver_one(d)
        self.assertEqual(record.read_text().splitlines(), [f"qq uid={NOBODY}/1"])


@unittest.skipUnless(os.geteuid() == 0, "needs root to become another user first")
class UnprivilegedStartTest(E2ETestCase):
    """Started as nobody (by root, for the test): user: may name nobody, not someone else."""

    def run_as_nobody(self, d, *args):
        return subprocess.run([harness.BIN, "--config", str(d.config_dir)] + list(args), capture_output=True,
                              timeout=30, stdin=subprocess.DEVNULL, user=NOBODY, group=NOGROUP, extra_groups=[],
                              cwd=str(d.tmp), env=dict(os.environ, ASAN_OPTIONS="detect_leaks=0"))

    def config(self, user):
        d = harness.Daemon(settings={"user": user})
        self._daemons.append(d)
        for p in (d.tmp, d.config_dir):
            os.chmod(p, 0o755)
        for p in (d.spool_dir, d.maildir_path, d.maildir_path / "new", d.maildir_path / "cur",
                  d.maildir_path / "tmp"):
            os.chown(p, NOBODY, NOGROUP)
        return d

    def test_user_naming_ourselves_is_fine_and_another_user_is_refused(self):
        p = self.run_as_nobody(self.config("nobody"), "--check")
        self.assertEqual(p.returncode, 0, p.stderr.decode(errors="replace"))
        p = self.run_as_nobody(self.config(None), "--check")
        self.assertEqual(p.returncode, 0, p.stderr.decode(errors="replace"))
        p = self.run_as_nobody(self.config("daemon"), "--check")
        err = p.stderr.decode(errors="replace")
        self.assertEqual(p.returncode, 1, err)
        self.assertRegex(err, r"asmtpd\.yaml:\d+: user: asmtpd runs as uid 65534, so it cannot switch to 'daemon'")


if __name__ == "__main__":
    unittest.main()

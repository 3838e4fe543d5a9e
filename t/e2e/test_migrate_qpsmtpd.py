"""test_migrate_qpsmtpd.py - Debian's stock qpsmtpd configuration (from the qpsmtpd package,
unpacked, never installed or started) loads under `asmtpd --check`: every line loads or gets
a precise message; with what debconf's postinst would add, the daemon runs on it and takes
mail.

Owner: tooling (t/e2e/).
"""

import os
import shutil
import socket
import subprocess
import tempfile
import unittest
from pathlib import Path

from harness import RUN_AS_YAML, E2ETestCase, Client, Daemon, run_asmtpd, to_yaml, BIN

CACHE = Path(BIN).parent / "fixtures"


def stock_qpsmtpd_etc():
    """/etc/qpsmtpd of Debian's qpsmtpd package, unpacked into a cache (apt-get download)."""
    etc = CACHE / "qpsmtpd" / "etc" / "qpsmtpd"
    if (etc / "plugins").exists():
        return etc
    CACHE.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=CACHE))
    try:
        r = subprocess.run(["apt-get", "download", "qpsmtpd"], cwd=work, capture_output=True, timeout=120)
        debs = list(work.glob("qpsmtpd_*.deb"))
        if r.returncode != 0 or not debs:
            raise AssertionError("apt-get download qpsmtpd failed: " + r.stderr.decode(errors="replace"))
        subprocess.run(["dpkg-deb", "-x", str(debs[0]), str(CACHE / "qpsmtpd")], check=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return etc


class StockQpsmtpdConfigTest(E2ETestCase):

    def config_copy(self, settings):
        tmp = Path(tempfile.mkdtemp(prefix="asmtpd-qpsmtpd-"))
        self.addCleanup(shutil.rmtree, tmp, True)
        cfg = tmp / "config"
        shutil.copytree(stock_qpsmtpd_etc(), cfg)
        # The stock files include /etc/qpsmtpd/...: point them at this copy.
        for f in cfg.iterdir():
            if f.is_file():
                f.write_text(f.read_text().replace("/etc/qpsmtpd/", f"{cfg}/"))
        (cfg / "asmtpd.yaml").write_text(to_yaml(settings) + "\n" + RUN_AS_YAML)
        return tmp, cfg

    def check(self, cfg):
        r = run_asmtpd(["--config", str(cfg), "--check"])
        return r.returncode, r.stderr.decode(), r.stdout.decode()

    def test_every_stock_line_loads_or_is_explained(self):
        tmp, cfg = self.config_copy({"hostname": "mx.e2e.test", "spool_dir": "spool",
                                     "listen": [{"address": "127.0.0.1", "port": 2599}]})
        plugins = (cfg / "plugins").read_text().splitlines()
        lineno = {l.split()[0]: i + 1 for i, l in enumerate(plugins) if l.strip() and not l.startswith("#")}
        rc, err, _ = self.check(cfg)
        self.assertEqual(rc, 1, err)
        problems = [l for l in err.splitlines() if not l.startswith("asmtpd:") and ": note: " not in l]
        # Exactly these, each naming its file and line: what the package's postinst would have
        # written (check_loop loads as its successor, loop: see the next test's notes).
        self.assertEqual(sorted(problems), sorted([
            f"{cfg}/plugins:{lineno['$include']}: $include {cfg}/debian-queue-method: no such file or directory",
            f"{cfg}/rcpthosts:17: $include {cfg}/debian-rcpthosts: no such file or directory",
        ]), err)
        self.assertNotIn("unknown plugin", err)

    def test_debconf_completed_config_runs_and_takes_mail(self):
        tmp, cfg = self.config_copy({})
        maildir = tmp / "mail"
        # What debconf writes for "maildir" delivery and a local domain.
        (cfg / "debian-queue-method").write_text(f"# auto-generated\nqueue/maildir {maildir}\n\n")
        (cfg / "debian-rcpthosts").write_text("# auto-generated\nexample.test\n")
        d = Daemon(plugins=[], settings={})
        self.addCleanup(d.cleanup)
        shutil.rmtree(d.config_dir)
        shutil.copytree(cfg, d.config_dir)
        settings = dict(d.settings)
        (d.config_dir / "asmtpd.yaml").write_text(to_yaml(settings) + "\n")
        rc, err, out = self.check(d.config_dir)
        self.assertEqual(rc, 0, err)
        self.assertIn("configuration OK", out)
        for note in ("'check_relay' (qpsmtpd) loaded as 'relay'", "'check_spamhelo' (qpsmtpd) loaded as 'helo'",
                     "'check_loop' (qpsmtpd) loaded as 'loop'",
                     "loglevel: note: ignored, asmtpd.yaml sets log_level",
                     "spool_dir: note: ignored, asmtpd.yaml sets spool_dir"):
            self.assertIn(note, err)
        d.start()
        # The stock relayclients lists 127.0.0.1: that client relays, as under qpsmtpd.
        c = Client(d.port)
        c.ehlo()
        c.cmd("MAIL FROM:<someone@example.org>", 250)
        c.cmd("RCPT TO:<user@example.test>", 250)
        c.cmd("RCPT TO:<user@elsewhere.test>", 250)
        c.cmd("DATA", 354)
        c.send(b"From: someone@example.org\r\nSubject: stock qpsmtpd config\r\n\r\nhello\r\n.\r\n")
        c.expect(250)
        c.close()
        # From 127.0.0.2 (not in relayclients) only the rcpthosts domains are taken.
        s = socket.create_connection(("127.0.0.1", d.port), source_address=("127.0.0.2", 0), timeout=10)
        o = Client.from_socket(s, d.port, greet=True)
        o.ehlo()
        o.cmd("MAIL FROM:<someone@example.org>", 250)
        o.cmd("RCPT TO:<user@example.test>", 250)
        o.cmd("RCPT TO:<user@elsewhere.test>", 550)
        o.close()
        self.assertEqual(len(list((maildir / "new").iterdir())), 1)


class ControlFilesTest(E2ETestCase):

    def test_databytes_and_smtpgreeting_files_are_read(self):
        d = self.start_daemon(files={"databytes": "200\n", "smtpgreeting": "mx.e2e.test Hello from qmail control\n"})
        c = self.client(d)
        self.assertIn(b"220 mx.e2e.test Hello from qmail control ESMTP", c.greeting.raw)
        c.ehlo()
        c.cmd("MAIL FROM:<a@example.test> SIZE=500", 552)
        c.cmd("MAIL FROM:<a@example.test>", 250)
        c.cmd("RCPT TO:<b@example.test>", 250)
        c.cmd("DATA", 354)
        c.send(b"Subject: big\r\n\r\n" + b"x" * 300 + b"\r\n.\r\n")
        c.expect(552)
        self.assertDelivered(d, 0)
        self.assertIn("databytes: note: read as asmtpd.yaml limits.databytes: 200", d.stderr_text())

    def test_asmtpd_yaml_wins_over_the_file(self):
        d = self.start_daemon(files={"databytes": "200\n"}, settings={"limits": {"databytes": 100000}})
        c = self.client(d)
        c.ehlo()
        c.cmd("MAIL FROM:<a@example.test> SIZE=500", 250)
        self.assertIn("databytes: note: ignored, asmtpd.yaml sets limits.databytes", d.stderr_text())

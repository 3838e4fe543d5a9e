"""test_check.py - `asmtpd --check` validates without creating anything: no spool directory,
no maildir, and what start-up could not create is still reported (issue 15).

Owner: tooling (t/e2e/).
"""

import os
import shutil
import tempfile
from pathlib import Path

from harness import RUN_AS_YAML, E2ETestCase, run_asmtpd, to_yaml


class CheckCreatesNothingTest(E2ETestCase):

    def config(self, spool, maildir):
        tmp = Path(tempfile.mkdtemp(prefix="asmtpd-check-"))
        self.addCleanup(shutil.rmtree, tmp, True)
        cfg = tmp / "config"
        cfg.mkdir()
        (cfg / "asmtpd.yaml").write_text(to_yaml({"hostname": "mx.e2e.test", "spool_dir": str(spool),
                                                  "listen": [{"address": "127.0.0.1", "port": 2599}]}) + "\n"
                                         + RUN_AS_YAML)
        (cfg / "plugins").write_text(f"rcpt_ok\nqueue/maildir {maildir}\n")
        (cfg / "rcpthosts").write_text("example.test\n")
        return tmp, cfg

    def test_nothing_is_created(self):
        tmp = Path(tempfile.mkdtemp(prefix="asmtpd-check-"))
        self.addCleanup(shutil.rmtree, tmp, True)
        _, cfg = self.config(tmp / "var" / "spool", tmp / "var" / "mail")
        before = sorted(p for p in tmp.rglob("*"))
        r = run_asmtpd(["--config", str(cfg), "--check"], env={})
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertEqual(sorted(p for p in tmp.rglob("*")), before, "--check created files")
        # Also from another working directory, with the default relative maildir.
        (cfg / "plugins").write_text("rcpt_ok\nqueue/maildir\n")
        cwd = Path(tempfile.mkdtemp(prefix="asmtpd-cwd-"))
        self.addCleanup(shutil.rmtree, cwd, True)
        r = run_asmtpd(["--config", str(cfg), "--check"], cwd=str(cwd))
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertEqual(list(cwd.iterdir()), [], "--check created ./var in the working directory")

    def test_what_cannot_be_created_is_still_reported(self):
        tmp = Path(tempfile.mkdtemp(prefix="asmtpd-check-"))
        self.addCleanup(shutil.rmtree, tmp, True)
        blocker = tmp / "file"
        blocker.write_text("not a directory\n")
        _, cfg = self.config(blocker / "spool", blocker)
        r = run_asmtpd(["--config", str(cfg), "--check"])
        err = r.stderr.decode()
        self.assertEqual(r.returncode, 1, err)
        self.assertIn(f"asmtpd.yaml: spool_dir: cannot create {blocker}/spool: {blocker} is not a directory", err)
        self.assertIn(f"plugins:2: plugin 'queue/maildir': cannot create {blocker}/tmp: {blocker} is not a directory", err)

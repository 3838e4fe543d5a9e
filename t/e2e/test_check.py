"""test_check.py - `asmtpd --check` validates without creating anything: no spool directory,
no maildir, and what start-up could not create is still reported (issue 15). Relative paths
are taken from the config directory: the shipped config/ checks the same from the checkout and
from /, creating nothing, and a daemon started in another directory delivers to the same place.

Owner: tooling (t/e2e/).
"""

import os
import pwd
import re
import shutil
import tempfile
from pathlib import Path

from harness import REPO, RUN_AS_YAML, E2ETestCase, run_asmtpd, to_yaml
from tls_support import server_cert


def tree(root):
    """Every path under root with its type, size and mode: what --check must leave alone."""
    out = {}
    for p in sorted(Path(root).rglob("*")):
        st = p.lstat()
        out[str(p.relative_to(root))] = (st.st_mode, st.st_size if p.is_file() else 0)
    return out


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


def as_dir(text, co):
    """Output with the config directory, as given (absolute or "config"), written as DIR."""
    text = text.replace(f"{co}/config/", "DIR/").replace(f"{co}/config:", "DIR:")
    return re.sub(r"(?<![\w/])config([/:])", r"DIR\1", text)


class RelativePathsTest(E2ETestCase):

    def checkout(self):
        """A copy of the shipped config/ in a checkout of its own, with var/tls as scripts/run
        leaves it (var/spool and var/mail are not made: --check must not make them either)."""
        co = Path(tempfile.mkdtemp(prefix="asmtpd-checkout-"))
        self.addCleanup(shutil.rmtree, co, True)
        shutil.copytree(REPO / "config", co / "config")
        (co / "var" / "tls").mkdir(parents=True)
        shutil.copy(server_cert().cert, co / "var" / "tls" / "cert.pem")
        shutil.copy(server_cert().key, co / "var" / "tls" / "key.pem")
        return co

    def test_shipped_config_checks_the_same_from_any_directory_and_creates_nothing(self):
        co = self.checkout()
        elsewhere = Path(tempfile.mkdtemp(prefix="asmtpd-cwd-"))
        self.addCleanup(shutil.rmtree, elsewhere, True)
        user = ["--user", pwd.getpwuid(os.geteuid()).pw_name]   # root must name one (scripts/run does)
        results = []
        for cwd, config in ((co, "config"), ("/", str(co / "config")), (elsewhere, str(co / "config"))):
            before = (tree(co), tree(elsewhere))
            r = run_asmtpd(["--check", "-c", config] + user, cwd=str(cwd))
            out = (r.returncode, as_dir(r.stdout.decode(), co), as_dir(r.stderr.decode(), co))
            self.assertEqual(out[0], 0, f"from {cwd}: {out}")
            self.assertEqual((tree(co), tree(elsewhere)), before, f"--check -c {config} from {cwd} created files")
            results.append(out)
        self.assertEqual(results, [results[0]] * len(results))
        self.assertFalse((co / "var" / "spool").exists() or (co / "var" / "mail").exists())
        # A path that cannot be made is reported as the absolute path it means, from anywhere.
        (co / "var" / "spool").write_text("a file where the spool should be\n")
        r = run_asmtpd(["--check", "-c", str(co / "config")] + user, cwd="/")
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"config/asmtpd.yaml: spool_dir: {co}/var/spool exists and is not a directory", r.stderr.decode())

    def test_daemon_started_elsewhere_delivers_beside_its_config(self):
        elsewhere = Path(tempfile.mkdtemp(prefix="asmtpd-cwd-"))
        self.addCleanup(shutil.rmtree, elsewhere, True)
        d = self.start_daemon(plugins=["rcpt_ok", "queue/maildir ../mail"],
                              settings={"spool_dir": "../spool", "limits": {"memory_spool": 16}},
                              cwd=elsewhere)
        c = self.client(d)
        c.ehlo("client.e2e.test")
        self.assertEqual(c.send_mail(body=b"Subject: where\r\n\r\n" + b"beside the config\r\n" * 4).code, 250)
        c.cmd("QUIT", 221)
        self.assertDelivered(d, 1)   # d.tmp/mail: ../mail from d.tmp/config
        self.assertEqual(list(elsewhere.iterdir()), [], "the daemon wrote into its working directory")

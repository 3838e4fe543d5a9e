"""spp_support.py - shared helpers for the qmail-spp end-to-end tests (test_spp*.py).

SppTestCase starts the real daemon with `spp` first in config/plugins, then qmail's own checks
the way a qmail-spp set-up has them ("check_badmailfrom at rcpt", "rcpt_ok qmail"), and a
maildir queue. The programs are the scripts in t/fixtures/spp/ (bash and Python), referenced
by absolute path; `{tmp}` in file contents is the daemon's temporary directory (daemon_process.py).
Nothing here signals a process it did not start, and every wait has a timeout.
Owner: spp (t/e2e/test_spp*.py).
"""

import os
import time
from pathlib import Path

from harness import REPO, E2ETestCase

FX = REPO / "t" / "fixtures" / "spp"

SPP_PLUGINS = ["spp timeout 3", "check_badmailfrom at rcpt", "rcpt_ok qmail", "queue/maildir {maildir}"]
FILES = {
    "rcpthosts": "example.test\nlocalhost\n",
    "badmailfrom": "bad@spam.test\n",
}


def fx(name):
    return str(FX / name)


def say(*lines, shell=True):
    """A program line printing `lines` (quoted for sh)."""
    quoted = " ".join("'" + l.replace("'", "'\\''") + "'" for l in lines)
    return f":{fx('say.sh')} {quoted}"


def record(tag, *names, log="p2.log"):
    """A program line appending "TAG VAR=value..." to {tmp}/<log>."""
    return f":{fx('record.py')} {{tmp}}/{log} {tag} {' '.join(names)}".rstrip()


def failure(line, why):
    return f"451 qmail-spp failure: {line}: {why} (#4.3.0)"


def pid_alive(pid):
    """True while pid exists and is not a zombie (a zombie is dead but unreaped)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def pid_state(pid):
    """(state, ppid) from /proc, or None when the pid is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return fields[0], int(fields[1])
    except (FileNotFoundError, ProcessLookupError):
        return None


def children_of(pid):
    """[(child pid, state)] of every process whose parent is pid."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        st = pid_state(int(entry))
        if st and st[1] == pid:
            out.append((int(entry), st[0]))
    return out


def wait_for(pred, timeout=10.0, step=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


class SppTestCase(E2ETestCase):
    """start_spp(smtpplugins) -> a daemon with the spp set-up; helpers for marker logs."""

    def start_spp(self, smtpplugins, files=None, spp="spp timeout 3", plugins=None, settings=None,
                  tcp_env=None, **kw):
        all_files = dict(FILES)
        if smtpplugins is not None:
            all_files["smtpplugins"] = smtpplugins
        if tcp_env is not None:
            all_files["tcp.env"] = tcp_env
        all_files.update(files or {})
        if plugins is None:
            plugins = [spp] + SPP_PLUGINS[1:]
        return self.start_daemon(plugins=plugins, files=all_files, settings=settings, **kw)

    def lines(self, d, name="p2.log"):
        p = Path(d.tmp) / name
        return p.read_text().splitlines() if p.exists() else []

    def swap_smtpplugins(self, d, text):
        """Replaces smtpplugins atomically after start-up (the readiness probe has run the
        old [connection] section) and waits past spp's once-a-second change check."""
        path = Path(d.config_dir) / "smtpplugins"
        tmp = path.with_suffix(".new")
        tmp.write_text(d.expand(text))
        os.replace(tmp, path)
        time.sleep(1.15)

    def session(self, d, ehlo=True):
        c = self.client(d)
        if ehlo:
            c.ehlo()
        return c

    def assertReply(self, r, raw):
        """The reply's bytes are exactly raw (str, CRLFs added per line)."""
        want = "".join(l + "\r\n" for l in raw.split("\n")).encode()
        self.assertEqual(r.raw, want)

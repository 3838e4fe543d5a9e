"""rspamd_support.py - a real rspamd (Debian's rspamd package) for the rspamd plugin's tests.

The configuration is written here, from scratch (Debian's /etc/rspamd is never read): one normal
worker on 127.0.0.1:<free port> and a Unix socket in the temporary directory, no controller, no
proxy, no fuzzy; every path (dbdir, rundir, log, control socket, history) in the temporary
directory; DNS pointed at a closed loopback port and only the C `regexp` module plus one Lua
file of our own loaded, so nothing reaches the network and no redis is needed; a five-line TLD
list instead of the public suffix list (its hyperscan compile would take minutes). GTUBE is
recognised by rspamd's core (action reject, smtp_message "Gtube pattern"). Test rules force the
other actions through the Subject: ASMTPD_ADD (6.5: add header), ASMTPD_REWRITE (9: rewrite
subject, rspamd's own "***SPAM*** %s"), ASMTPD_GREY (4.5: greylist), and ASMTPD_MILTER (a Lua
rule that asks, through task:set_milter_reply, to add X-Asmtpd-Milter and X-Two twice and to
remove X-Remove-Me). Thresholds: greylist 4, add header 6, rewrite subject 8, reject 15.
Under root it runs with -u root -g root (its own check refuses root otherwise); it is stopped by
its pid (SIGTERM, SIGKILL after 10 s), and its worker processes, found under that pid, with it.
Never: signal a process it did not start, read or touch /etc/rspamd or /var/lib/rspamd, start a
system service. Owner: content scanning plugins (issue 13).
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from harness import free_port

RSPAMD = shutil.which("rspamd") or "/usr/bin/rspamd"
KEEP = os.environ.get("ASMTPD_E2E_KEEP") == "1"

RULES_LUA = """
rspamd_config:register_symbol({
  name = 'ASMTPD_MILTER',
  score = 0.0,
  callback = function(task)
    local s = task:get_header('Subject') or ''
    if not s:find('asmtpd%-milter') then return false end
    task:set_milter_reply({
      add_headers = { ['X-Asmtpd-Milter'] = 'added by rspamd', ['X-Two'] = {'one', 'two'} },
      remove_headers = { ['X-Remove-Me'] = 0 },
    })
    return true
  end,
})
"""


def rspamd_unavailable():
    if not os.access(RSPAMD, os.X_OK):
        return "rspamd is not installed (apt-get install rspamd; scripts/bootstrap does)"
    return None


def _children(pid):
    """Direct children of pid (rspamd's workers), read from /proc."""
    out = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text().split()
            out += [int(p) for p in text]
    except OSError:
        pass
    return out


def _alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


class Rspamd:
    """One rspamd normal worker on 127.0.0.1:<port> and unix socket `socket_path`."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="asmtpd-rspamd-"))
        os.chmod(self.dir, 0o755)   # asmtpd may run as another user: the Unix socket is in here
        self.port = free_port()
        self.socket_path = str(self.dir / "normal.sock")
        self.log_path = self.dir / "rspamd.log"
        self.conf = self.dir / "rspamd.conf"
        (self.dir / "db").mkdir()
        (self.dir / "tld.dat").write_text("com\norg\nnet\ntest\nexample\n")
        (self.dir / "rules.lua").write_text(RULES_LUA)
        d = self.dir
        self.conf.write_text(f"""
options {{
  pidfile = "{d}/rspamd.pid";
  filters = "regexp";
  dbdir = "{d}/db";
  tempdir = "{d}";
  url_tld = "{d}/tld.dat";
  control_socket = "{d}/control.sock mode=0600";
  history_file = "{d}/history";
  cache_file = "{d}/db/symbols.cache";
  dns {{ nameserver = ["127.0.0.1:{free_port()}"]; timeout = 0.2s; retransmits = 1; }}
}}
logging {{ type = "file"; filename = "{self.log_path}"; level = "info"; }}
worker "normal" {{
  bind_socket = "127.0.0.1:{self.port}";
  bind_socket = "{self.socket_path} mode=0666";
  count = 1;
  task_timeout = 20s;
}}
actions {{ reject = 15; rewrite_subject = 8; add_header = 6; greylist = 4; subject = "***SPAM*** %s"; }}
regexp {{
  ASMTPD_ADD {{ re = "Subject=/asmtpd-add-header/i"; score = 6.5; }}
  ASMTPD_REWRITE {{ re = "Subject=/asmtpd-rewrite/i"; score = 9.0; }}
  ASMTPD_GREY {{ re = "Subject=/asmtpd-greylist/i"; score = 4.5; }}
}}
lua = "{d}/rules.lua";
""")
        self.proc = None
        self.start_seconds = None

    @property
    def hop(self):
        return ("127.0.0.1", self.port)

    def start(self):
        t0 = time.monotonic()
        args = [RSPAMD, "-c", str(self.conf), "-f"]
        if os.geteuid() == 0:
            args += ["-u", "root", "-g", "root"]
        self._out = open(self.dir / "stderr.log", "wb")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self._out, stderr=self._out,
                                     cwd=str(self.dir))
        deadline = time.monotonic() + 90
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"rspamd exited with {self.proc.returncode} during start-up:\n{self.log_text()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"rspamd did not answer on 127.0.0.1:{self.port} within 90s")
            try:
                if b"HTTP/1.1 200" in self.check(b"Subject: warm-up\r\n\r\nhello\r\n", timeout=5)[:20]:
                    break
            except OSError:
                time.sleep(0.1)
        self.start_seconds = time.monotonic() - t0

    def check(self, message, timeout=30):
        """POST /checkv2 straight to rspamd (the tests' oracle): the raw HTTP reply."""
        head = (b"POST /checkv2 HTTP/1.1\r\nConnection: close\r\nContent-Length: %d\r\nIP: 192.0.2.1\r\n\r\n"
                % len(message))
        with socket.create_connection(self.hop, timeout=timeout) as s:
            s.sendall(head + message)
            out = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    return out
                out += chunk

    def log_text(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        workers = _children(self.proc.pid)
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        deadline = time.monotonic() + 5
        for pid in workers:   # ours: they were the main process's children
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if _alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        if getattr(self, "_out", None):
            self._out.close()

    def cleanup(self):
        self.stop()
        if not KEEP:
            shutil.rmtree(self.dir, ignore_errors=True)

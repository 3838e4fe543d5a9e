"""daemon_process.py - run the real asmtpd on loopback with a throw-away config.

Daemon starts build/asmtpd (or $ASMTPD_BIN, made absolute here) on a free 127.0.0.1 port with a
temporary config directory (asmtpd.yaml, plugins, flat files), waits for its greeting, and stops
it by pid with SIGTERM (SIGKILL after 10 s); check_clean_exit() asserts exit code 0 and a stderr
free of sanitizer reports. Every daemon's dns.servers is a loopback DNS server started here
(dns_support.shared(), no zones) unless the test passes its own. run_asmtpd() runs the binary
to completion. As root, every daemon gets `user: root` (RUN_AS_YAML) unless the test names
another user. Every blocking call has a timeout; nothing here touches files outside its
temporary directory or signals a process it did not start. Owner: tooling (t/e2e/).
"""

import atexit
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import dns_support
from maildir_reader import Maildir
from smtp_client import TIMEOUT, Client
from yaml_config import deep_merge, to_yaml

REPO = Path(__file__).resolve().parents[2]
# Absolute: the daemon runs in its temporary directory, and a relative path would not name it there.
BIN = os.path.abspath(os.environ.get("ASMTPD_BIN", str(REPO / "build" / "asmtpd")))
HOSTNAME = "mx.e2e.test"
START_TIMEOUT = 20.0                                           # ASan start-up can be slow
STOP_TIMEOUT = 10.0
KEEP = os.environ.get("ASMTPD_E2E_KEEP") == "1"                 # keep temp dirs for debugging
SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "runtime error:")

DEFAULT_PLUGINS = ["rcpt_ok", "queue/maildir {maildir}"]
# asmtpd refuses to start as root unless asmtpd.yaml names its user (CI runs as root): every
# test daemon says `user: root` then, unless the test sets another (test_privilege_drop) or
# passes settings={"user": None} to leave the key out. RUN_AS_YAML is the same line for tests
# that write asmtpd.yaml themselves (append it: it must not move the lines a test checks).
RUN_AS_ROOT = os.geteuid() == 0
RUN_AS_YAML = "user: root\n" if RUN_AS_ROOT else ""
DEFAULT_FILES = {"me": HOSTNAME + "\n", "rcpthosts": "example.test\nlocalhost\n"}

_live = set()   # daemons still running, killed by pid if the runner is interrupted


def _kill_live():
    for d in list(_live):
        d.kill()


atexit.register(_kill_live)


# Test modules run in parallel processes, and a port is only bound some time after it is handed
# out (ASan start-up). Bind-to-0-and-release let two processes get the same port in that window,
# and a daemon's readiness probe was then answered by another test's daemon (a CI flake). So ports
# come from below the kernel's ephemeral range (no client connection or bind(0) takes them) and
# each is claimed by an O_EXCL file that every test process of this machine honours.
_PORT_CLAIMS = Path(tempfile.gettempdir()) / "asmtpd-e2e-ports"
_PORT_CLAIM_TTL = 3 * 3600          # a claim older than any test run is left over from a killed run
_claimed = []


def _port_range():
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    return (max(10000, low - 12000), low) if low > 12000 else None


def _bindable(port):
    """Without SO_REUSEADDR, so a port with a connection in TIME_WAIT is passed over: the
    server given it may be one that does not set the option."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _claim(port):
    claim = _PORT_CLAIMS / str(port)
    try:
        os.close(os.open(claim, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
    except FileExistsError:
        try:
            if time.time() - claim.stat().st_mtime > _PORT_CLAIM_TTL:
                claim.unlink()
        except OSError:
            pass
        return False
    _claimed.append(claim)
    return True


def _release_claims():
    for claim in _claimed:
        try:
            claim.unlink()
        except OSError:
            pass


atexit.register(_release_claims)


def free_port():
    """A loopback port nobody listens on and no other test process of this machine holds."""
    try:
        _PORT_CLAIMS.mkdir()
        os.chmod(_PORT_CLAIMS, 0o1777)    # shared by every user's test runs (umask aside)
    except FileExistsError:
        pass
    span = _port_range()
    for _ in range(2000):
        if span:
            port = random.randrange(*span)
        else:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
        if _claim(port):
            if _bindable(port):
                return port
    raise RuntimeError(f"no free loopback port (claims in {_PORT_CLAIMS})")


class StartError(AssertionError):
    pass


class Daemon:
    """One asmtpd process with its own temporary config, spool and maildir."""

    def __init__(self, plugins=None, files=None, settings=None, args=(), env=None, wrapper=(), cwd=None):
        self.tmp = Path(tempfile.mkdtemp(prefix="asmtpd-e2e-"))
        self.config_dir = self.tmp / "config"
        self.maildir_path = self.tmp / "mail"
        self.spool_dir = self.tmp / "spool"
        for d in (self.config_dir, self.spool_dir, self.maildir_path / "new",
                  self.maildir_path / "cur", self.maildir_path / "tmp"):
            d.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.settings = deep_merge({
            "hostname": HOSTNAME,
            "listen": [{"address": "127.0.0.1", "port": self.port, "mode": "smtp"}],
            "spool_dir": str(self.spool_dir),
            "workers": 1,
            "log_level": "debug",
            "timeouts": {"shutdown": 3},
            # Never the machine's resolver: a loopback DNS server this process started.
            "dns": {"servers": [dns_support.shared().address]},
            **({"user": "root"} if RUN_AS_ROOT else {}),
        }, settings)
        self.settings = {k: v for k, v in self.settings.items() if v is not None}
        self.plugins = list(DEFAULT_PLUGINS if plugins is None else plugins)
        self.files = dict(DEFAULT_FILES)
        self.files.update(files or {})
        self.args = list(args)
        # wrapper: a command that execs the daemon (its pid stays the daemon's), e.g. unshare;
        # cwd: the working directory (default the temporary directory).
        self.wrapper = list(wrapper)
        self.cwd = str(cwd) if cwd is not None else str(self.tmp)
        self.env = dict(os.environ)
        self.env.setdefault("ASAN_OPTIONS", "detect_leaks=1:quarantine_size_mb=32")
        self.env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        self.env.update(env or {})
        self.proc = None
        self.returncode = None
        self.killed = False
        self.stderr_path = self.tmp / "stderr.log"
        self.write_config()

    # -- config
    def expand(self, text):
        return (text.replace("{maildir}", str(self.maildir_path))
                    .replace("{tmp}", str(self.tmp))
                    .replace("{config}", str(self.config_dir)))

    def write_config(self):
        (self.config_dir / "asmtpd.yaml").write_text(to_yaml(self.settings) + "\n")
        (self.config_dir / "plugins").write_text(
            "".join(self.expand(p) + "\n" for p in self.plugins))
        for name, content in self.files.items():
            self.write_file(name, content)

    def write_file(self, name, content):
        path = self.config_dir / name   # "dkim/example.org/private": the directories are made
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(self.expand(content))

    @property
    def maildir(self):
        return Maildir(self.maildir_path)

    # -- process
    def start(self, wait=True):
        self._err = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            self.wrapper + [BIN, "--config", str(self.config_dir)] + self.args,
            stdin=subprocess.DEVNULL, stdout=self._err, stderr=self._err,
            cwd=self.cwd, env=self.env)
        _live.add(self)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self):
        """Until the port accepts and the daemon answers (220, then QUIT and wait for the close)."""
        deadline = time.monotonic() + START_TIMEOUT
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise StartError(f"asmtpd exited with {self.proc.returncode} during start-up\n"
                                 + self.stderr_tail())
            try:
                s = socket.create_connection(("127.0.0.1", self.port), timeout=1)
            except OSError as e:
                last = e
                time.sleep(0.05)
                continue
            try:
                c = Client.from_socket(s, self.port, greet=False)
                r = c.read_reply(timeout=max(1.0, deadline - time.monotonic()))
                # Any complete reply means the daemon serves; a refusal (hosts_allow) is the
                # test's business. A polite QUIT after a 220 keeps per-IP counts clean.
                if r.code == 220:
                    c.send("QUIT\r\n")
                    c.read_reply()
                c.wait_closed(TIMEOUT)
                return
            finally:
                s.close()
        raise StartError(f"asmtpd did not answer on port {self.port}: {last}\n" + self.stderr_tail())

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        if self.running():
            os.kill(self.proc.pid, sig)

    def wait(self, timeout):
        """Waits for the exit; returns the exit code or None on timeout."""
        try:
            self.returncode = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        _live.discard(self)
        return self.returncode

    def stop(self):
        """SIGTERM, then SIGKILL after STOP_TIMEOUT. Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            if self.wait(STOP_TIMEOUT) is None:
                self.kill()
        self.returncode = self.proc.wait()
        _live.discard(self)
        if not self._err.closed:
            self._err.close()
        return self.returncode

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.killed = True
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        _live.discard(self)

    def stderr_text(self):
        try:
            return self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""

    def stderr_tail(self, lines=80):
        text = self.stderr_text().splitlines()
        return "---- asmtpd stderr (last %d of %d lines) ----\n%s\n----" % (
            min(lines, len(text)), len(text), "\n".join(text[-lines:]))

    def wait_for_log(self, pattern, timeout=TIMEOUT):
        """Until stderr matches the regex; returns the match or None."""
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern)
        while time.monotonic() < deadline:
            m = rx.search(self.stderr_text())
            if m:
                return m
            time.sleep(0.05)
        return None

    def check_clean_exit(self):
        """The daemon is stopped: exit 0 by itself, and no sanitizer report on stderr."""
        problems = []
        if self.killed:
            problems.append(f"did not exit within {STOP_TIMEOUT:.0f}s of SIGTERM (SIGKILLed)")
        elif self.returncode != 0:
            problems.append(f"exit code {self.returncode}, expected 0")
        text = self.stderr_text()
        for marker in SANITIZER_MARKERS:
            if marker in text:
                problems.append(f"stderr contains {marker!r}")
        if problems:
            raise AssertionError("asmtpd: " + "; ".join(problems) + "\n" + self.stderr_tail(150))

    def vm_hwm_kb(self):
        """Peak resident set (VmHWM) of the running daemon, in KiB."""
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        raise AssertionError("no VmHWM in /proc status")

    def cleanup(self):
        if not KEEP:
            shutil.rmtree(self.tmp, ignore_errors=True)


def run_asmtpd(args, timeout=30, env=None, cwd=None):
    """Runs the binary to completion (for --check, --version, --help)."""
    e = dict(os.environ)
    e.setdefault("ASAN_OPTIONS", "detect_leaks=1")
    e.update(env or {})
    return subprocess.run([BIN] + list(args), capture_output=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, env=e, cwd=cwd)

"""scan_support.py - real SpamAssassin spamd and ClamAV clamd for the scanning plugins' tests.

Spamd (Debian's spamd package) runs from a private configuration: the rules Debian ships
(-C /usr/share/spamassassin, read only), a private --siteconfigpath holding copies of the
plugin-loading .pre files and nothing else (no local.cf of the machine), --local (no network
tests, no DNS), -x (no user preferences), learning/reporting off (no --allow-tell), one child
(the benchmark's load (l) asks for more),
listening on 127.0.0.1:<free port>. Its first scan loads and compiles the rules lazily (about
8 s on a busy machine), so start() sends one warm-up message before a test sees it.
Clamd (Debian's clamav-daemon) runs in the foreground from a private clamd.conf: LocalSocket
and TCPSocket 127.0.0.1:<free port> in its temporary directory, DatabaseDirectory a temporary
directory holding one tiny signature database written here (TEST_SIGNATURE as an .ndb body
signature: no freshclam, no download, no official database). Under root spamd runs as nobody
(it refuses root), so its directories are world-readable; clamd stays root (no User line).
Both are stopped by their own pid (SIGTERM, SIGKILL after 10 s). Never: signal a process it did
not start, touch files outside its temporary directories, start a system service.
Owner: content scanning plugins (issue 13).
"""

import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
from pathlib import Path

from harness import free_port

SPAMD = shutil.which("spamd") or "/usr/sbin/spamd"
CLAMD = shutil.which("clamd") or "/usr/sbin/clamd"
SA_RULES = Path("/usr/share/spamassassin")
SA_PRE_DIR = Path("/etc/spamassassin")
KEEP = os.environ.get("ASMTPD_E2E_KEEP") == "1"

GTUBE = b"XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
TEST_SIGNATURE = b"ASMTPD-TEST-VIRUS-7f3a9c0e-NOT-A-REAL-VIRUS"
VIRUS_NAME = "Asmtpd.Test.Virus.UNOFFICIAL"    # clamd adds .UNOFFICIAL to a local database's names


def spamd_unavailable():
    if not os.access(SPAMD, os.X_OK):
        return "spamd is not installed (apt-get install spamd spamassassin; scripts/bootstrap does)"
    if not (SA_RULES / "50_scores.cf").exists() or not list(SA_PRE_DIR.glob("*.pre")):
        return "SpamAssassin's rules are not installed (apt-get install spamassassin)"
    return None


def clamd_unavailable():
    if not os.access(CLAMD, os.X_OK):
        return "clamd is not installed (apt-get install clamav-daemon; scripts/bootstrap does)"
    return None


def _wait_port(port, proc, what, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{what} exited with {proc.returncode} during start-up")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"{what} did not listen on 127.0.0.1:{port} within {timeout}s")


def _stop(proc):
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def exchange(address, request, timeout=30):
    """One request to a daemon (a (host, port) pair or a socket path); its whole reply."""
    family = socket.AF_UNIX if isinstance(address, str) else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(address)
        s.sendall(request)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk


class Spamd:
    """One spamd on 127.0.0.1:<port> with `children` preforked children, stopped by stop()."""

    def __init__(self, children=1):
        self.children = children
        self.dir = Path(tempfile.mkdtemp(prefix="asmtpd-spamd-"))
        os.chmod(self.dir, 0o755)   # spamd drops to nobody under root
        self.site = self.dir / "site"
        self.site.mkdir()
        for pre in SA_PRE_DIR.glob("*.pre"):
            shutil.copy(pre, self.site / pre.name)
        for p in [self.site] + list(self.site.iterdir()):
            os.chmod(p, 0o755 if p.is_dir() else 0o644)
        self.port = free_port()
        self.log_path = self.dir / "spamd.log"
        self.proc = None
        self.start_seconds = None

    @property
    def hop(self):
        return f"127.0.0.1:{self.port}"

    def start(self):
        t0 = time.monotonic()
        args = [SPAMD, "--local", "--nouser-config", "-C", str(SA_RULES), "--siteconfigpath", str(self.site),
                "--listen", f"127.0.0.1:{self.port}", "--allowed-ips", "127.0.0.1",
                "--max-children", str(self.children), "--min-children", str(self.children), "--syslog", "stderr"]
        if os.geteuid() == 0:
            args += ["--username", "nobody"]
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log,
                                     cwd=str(self.dir))
        _wait_port(self.port, self.proc, "spamd", 60)
        self.check(b"Subject: warm-up\r\n\r\nhello\r\n")   # loads the rules in the child
        self.start_seconds = time.monotonic() - t0

    def check(self, message):
        """SYMBOLS for message, straight from spamd (the tests' oracle)."""
        req = b"SYMBOLS SPAMC/1.5\r\nContent-length: %d\r\n\r\n" % len(message) + message
        return exchange(("127.0.0.1", self.port), req, timeout=60)

    def log_text(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self):
        _stop(self.proc)
        if getattr(self, "_log", None):
            self._log.close()

    def cleanup(self):
        self.stop()
        if not KEEP:
            shutil.rmtree(self.dir, ignore_errors=True)


class Clamd:
    """One clamd with a one-signature database, on a Unix socket and 127.0.0.1:<port>."""

    def __init__(self, stream_max="10M"):
        self.dir = Path(tempfile.mkdtemp(prefix="asmtpd-clamd-"))
        self.db = self.dir / "db"
        self.db.mkdir()
        (self.db / "asmtpd-test.ndb").write_text(f"Asmtpd.Test.Virus:0:*:{TEST_SIGNATURE.hex()}\n")
        self.port = free_port()
        self.socket_path = str(self.dir / "clamd.sock")
        self.log_path = self.dir / "clamd.log"
        self.conf = self.dir / "clamd.conf"
        self.conf.write_text(
            "Foreground yes\n"
            f"LocalSocket {self.socket_path}\n"
            f"TCPSocket {self.port}\nTCPAddr 127.0.0.1\n"
            f"DatabaseDirectory {self.db}\n"
            f"LogFile {self.log_path}\nLogTime yes\n"
            f"StreamMaxLength {stream_max}\n"
            "SelfCheck 0\n")
        self.proc = None
        self.start_seconds = None

    @property
    def hop(self):
        return f"127.0.0.1:{self.port}"

    def start(self):
        t0 = time.monotonic()
        self._out = open(self.dir / "stderr.log", "wb")
        self.proc = subprocess.Popen([CLAMD, "-c", str(self.conf)], stdin=subprocess.DEVNULL,
                                     stdout=self._out, stderr=self._out, cwd=str(self.dir))
        _wait_port(self.port, self.proc, "clamd", 30)
        self.start_seconds = time.monotonic() - t0

    def scan(self, data):
        """zINSTREAM straight to clamd (the tests' oracle)."""
        req = b"zINSTREAM\0" + struct.pack(">I", len(data)) + data + struct.pack(">I", 0)
        return exchange(("127.0.0.1", self.port), req)

    def log_text(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self):
        _stop(self.proc)
        if getattr(self, "_out", None):
            self._out.close()

    def cleanup(self):
        self.stop()
        if not KEEP:
            shutil.rmtree(self.dir, ignore_errors=True)


def header_fields(raw: bytes, name: str):
    """Values of every `name` field in the header block of raw (a delivered file), unfolded,
    white space runs made one space; our Received and the added fields included."""
    block = raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0].decode("utf-8", "replace")
    out = []
    for field in re.split(r"\n(?![ \t])", block):
        n, _, v = field.partition(":")
        if n.strip().lower() == name.lower():
            out.append(re.sub(r"\s+", " ", v).strip())
    return out

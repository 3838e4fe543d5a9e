"""scan_milter_support.py - Debian's clamav-milter and spamass-milter on loopback, in front of the
clamd and spamd that scan_support.py starts, for the milter plugin's tests (and load (l) of the
benchmark, which shares the daemons).

ClamavMilter(clamd): clamav-milter in the foreground from a private clamav-milter.conf in its own
temporary directory: MilterSocket a Unix socket there, ClamdSocket the test clamd's TCP port
(tcp:127.0.0.1:PORT; clamav-milter streams each message with INSTREAM), OnInfected Reject with
RejectMsg "Virus found: %v", AddHeader Replace with ReportHostname REPORT_HOST, its log in the
directory, no User line (it runs as whoever starts it: root or the test user alike).
SpamassMilter(spamd): spamass-milter on a Unix socket in its own temporary directory, running
spamc per message against the test spamd (`-- -d 127.0.0.1 -p PORT`), rejecting at `-r`.
Both are stopped by their own pid: SIGTERM, then SIGKILL after GRACE s (libmilter notices
SIGTERM only at its listener's next poll, seconds later; the tests do not wait for that).
Never: signal a process it did not start, touch files outside its temporary directory, start a
system service or read the machine's /etc/clamav or /etc/default files.
Owner: the milter plugin's tests (issue 13).
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

CLAMAV_MILTER = shutil.which("clamav-milter") or "/usr/sbin/clamav-milter"
SPAMASS_MILTER = shutil.which("spamass-milter") or "/usr/sbin/spamass-milter"
SPAMC = shutil.which("spamc") or "/usr/bin/spamc"
REPORT_HOST = "milter.clamav.test"
GRACE = 0.5
KEEP = os.environ.get("ASMTPD_E2E_KEEP") == "1"


def clamav_milter_unavailable():
    if not os.access(CLAMAV_MILTER, os.X_OK):
        return "clamav-milter is not installed (apt-get install clamav-milter; scripts/bootstrap does)"
    return None


def spamass_milter_unavailable():
    if not os.access(SPAMASS_MILTER, os.X_OK) or not os.access(SPAMC, os.X_OK):
        return "spamass-milter is not installed (apt-get install spamass-milter spamc; scripts/bootstrap does)"
    return None


class _MilterDaemon:
    """A milter program on a Unix socket in a temporary directory, stopped by pid."""

    what = "milter"

    def __init__(self, prefix):
        self.dir = Path(tempfile.mkdtemp(prefix=prefix))
        self.socket_path = self.dir / "milter.sock"
        self.out_path = self.dir / "stdout.log"
        self.proc = None

    @property
    def socket(self):
        """The milter plugin's socket argument."""
        return f"unix:{self.socket_path}"

    def args(self):
        raise NotImplementedError

    def start(self, timeout=15):
        self._out = open(self.out_path, "wb")
        self.proc = subprocess.Popen(self.args(), stdin=subprocess.DEVNULL, stdout=self._out,
                                     stderr=subprocess.STDOUT, cwd=str(self.dir))
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.what} exited with {self.proc.returncode}:\n{self.log_text()}")
            try:
                with socket.socket(socket.AF_UNIX) as u:
                    u.connect(str(self.socket_path))
                return self
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise AssertionError(f"{self.what} did not listen on {self.socket_path}:\n{self.log_text()}")
                time.sleep(0.05)

    def log_text(self):
        return self.out_path.read_text(errors="replace") if self.out_path.exists() else ""

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(GRACE)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if getattr(self, "_out", None):
            self._out.close()
            self._out = None

    def cleanup(self):
        self.stop()
        if not KEEP:
            shutil.rmtree(self.dir, ignore_errors=True)


class ClamavMilter(_MilterDaemon):
    what = "clamav-milter"

    def __init__(self, clamd, on_infected="Reject"):
        super().__init__("asmtpd-clamav-milter-")
        self.log_path = self.dir / "clamav-milter.log"
        self.conf = self.dir / "clamav-milter.conf"
        self.conf.write_text(
            "Foreground yes\n"
            f"MilterSocket unix:{self.socket_path}\n"
            f"ClamdSocket tcp:127.0.0.1:{clamd.port}\n"
            f"TemporaryDirectory {self.dir}\n"
            f"OnInfected {on_infected}\nOnClean Accept\nOnFail Defer\n"
            "RejectMsg Virus found: %v\n"
            f"AddHeader Replace\nReportHostname {REPORT_HOST}\n"
            f"LogFile {self.log_path}\nLogTime yes\nLogInfected Basic\nLogClean Basic\n"
            "ReadTimeout 10\n")

    def args(self):
        return [CLAMAV_MILTER, "-c", str(self.conf)]


class SpamassMilter(_MilterDaemon):
    what = "spamass-milter"

    def __init__(self, spamd, reject_at=15):
        super().__init__("asmtpd-spamass-milter-")
        self.spamd = spamd
        self.reject_at = reject_at

    def args(self):
        return [SPAMASS_MILTER, "-p", str(self.socket_path), "-r", str(self.reject_at),
                "--", "-d", "127.0.0.1", "-p", str(self.spamd.port)]

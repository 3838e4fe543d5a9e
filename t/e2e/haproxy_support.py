"""haproxy_support.py - Debian's haproxy in front of asmtpd, for the end-to-end tests.

Haproxy runs haproxy in the foreground (-db) with a config it is given or generates (one TCP
frontend on 127.0.0.1:<free port>, a backend of one or more servers), checks it with
`haproxy -c` first, waits until the frontend listens, and stops it by its pid (SIGTERM, SIGKILL
after 10 s). log_text() is what haproxy printed (its warnings: `Server asmtpd/mx3 is DOWN`, and
the `log stdout` lines of a config that has them). Never signals a process it did not start
nor touches files outside its temporary directory. Used by test_proxy (one server, PROXY v1/v2)
and test_scale_out (the documented deployment, several servers with health checks). Owner:
tooling (t/e2e/).
"""

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from harness import free_port


def listening(port, address="127.0.0.1"):
    """True when something listens on IPv4 address:port (from /proc/net/tcp, no connection)."""
    a = [int(x) for x in address.split(".")]
    want = f"{a[3]:02X}{a[2]:02X}{a[1]:02X}{a[0]:02X}:{port:04X}"
    try:
        with open("/proc/net/tcp") as f:
            for line in f.readlines()[1:]:
                parts = line.split()
                if parts[1] == want and parts[3] == "0A":
                    return True
    except OSError:
        pass
    return False


def simple_config(port, servers, backend_lines=()):
    """A minimal TCP proxy: frontend on 127.0.0.1:port, servers as (name, "ip:port", options)."""
    return ("global\n"
            "    maxconn 256\n"
            "defaults\n"
            "    mode tcp\n"
            "    timeout connect 5s\n"
            "    timeout client 30s\n"
            "    timeout server 30s\n"
            "frontend smtp_in\n"
            f"    bind 127.0.0.1:{port}\n"
            "    default_backend asmtpd\n"
            "backend asmtpd\n"
            + "".join(f"    {line}\n" for line in backend_lines)
            + "".join(f"    server {name} {addr} {opts}\n" for name, addr, opts in servers))


class Haproxy:
    """haproxy (Debian's) in the foreground. Haproxy(backend_port, "send-proxy-v2") proxies to
    one server on 127.0.0.1; Haproxy(config=text, port=p) runs a config written elsewhere (its
    frontend must bind 127.0.0.1:p)."""

    def __init__(self, backend_port=None, server_opts="send-proxy", workdir=None, config=None, port=None):
        self.dir = Path(workdir or tempfile.mkdtemp(prefix="asmtpd-e2e-haproxy-"))
        self.port = port or free_port()
        self.cfg = self.dir / "haproxy.cfg"
        self.log = self.dir / "haproxy.log"
        if config is None:
            config = simple_config(self.port, [("a1", f"127.0.0.1:{backend_port}", server_opts)])
        self.cfg.write_text(config)
        self.proc = None
        self._log = None

    def start(self, timeout=15.0):
        if shutil.which("haproxy") is None:
            raise AssertionError("haproxy is not installed (apt-get install -y haproxy)")
        check = subprocess.run(["haproxy", "-c", "-f", str(self.cfg)], capture_output=True, timeout=30)
        if check.returncode != 0:
            raise AssertionError("haproxy -c: " + (check.stdout + check.stderr).decode(errors="replace"))
        self._log = open(self.log, "wb")
        self.proc = subprocess.Popen(["haproxy", "-db", "-f", str(self.cfg)], stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=self._log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"haproxy exited with {self.proc.returncode}:\n" + self.log_text())
            if listening(self.port):
                return self
            time.sleep(0.05)
        self.stop()
        raise AssertionError("haproxy did not listen in time:\n" + self.log_text())

    def log_text(self):
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def wait_for_log(self, needle, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.log_text():
                return True
            time.sleep(0.05)
        return False

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self._log is not None and not self._log.closed:
            self._log.close()
        if os.environ.get("ASMTPD_E2E_KEEP") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)

"""dns_support.py - start t/e2e/dns_server.py (a real authoritative DNS server on loopback) for a test.

DnsServer(zones) writes the zones, starts the server under Debian's /usr/bin/python3 (it needs
python3-dnslib, which pyenv's python does not see) on an ephemeral 127.0.0.1 port (UDP and TCP),
and stops it by pid. `address` is what asmtpd.yaml's dns.servers takes. write_zones() replaces
the zones while it runs; queries() reads the counts the server keeps. Zone syntax and the
behaviour lines (!delay, !drop, !servfail, !nxdomain) are documented in dns_server.py.
shared() is one empty-zoned server per test process: the harness points every daemon's
dns.servers at it unless the test gives its own, so no test ever asks a DNS server off this
machine (the resolver otherwise defaults to /etc/resolv.conf). Owner: tooling (t/e2e/).
"""

import atexit
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PYTHON = "/usr/bin/python3"
START_TIMEOUT = 10.0

_live = set()


def _kill_live():
    for s in list(_live):
        s.cleanup()   # stop by pid and remove its directory (the shared server's too)


atexit.register(_kill_live)


class DnsServer:
    def __init__(self, zones="", stats_interval=0.0):
        """stats_interval > 0: queries() may lag by that many seconds (dns_server.py --stats-interval)."""
        self.dir = Path(tempfile.mkdtemp(prefix="asmtpd-dns-"))
        self.stats_interval = stats_interval
        self.proc = None
        self.port = None
        self.write_zones(zones)

    def write_zones(self, text):
        tmp = self.dir / "zones.tmp"
        tmp.write_text(text)
        os.replace(tmp, self.dir / "zones")

    def start(self):
        self._log = open(self.dir / "server.log", "wb")
        self.proc = subprocess.Popen([PYTHON, str(HERE / "dns_server.py"), "--dir", str(self.dir),
                                      "--stats-interval", str(self.stats_interval)],
                                     stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log)
        _live.add(self)
        deadline = time.monotonic() + START_TIMEOUT
        port_file = self.dir / "port"
        while not port_file.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                log = (self.dir / "server.log").read_text(errors="replace")
                self.stop()
                raise AssertionError(f"dns_server.py did not start:\n{log}")
            time.sleep(0.02)
        self.port = int(port_file.read_text())
        return self

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def stats(self):
        try:
            return json.loads((self.dir / "stats.json").read_text())
        except FileNotFoundError:
            return {"total": 0, "udp": 0, "tcp": 0, "queries": {}}

    def queries(self, name=None, qtype=None):
        """How many queries arrived, all of them or for one name (and type)."""
        st = self.stats()
        if name is None:
            return st["total"]
        name = name.lower().rstrip(".") + "."
        return sum(n for k, n in st["queries"].items()
                   if k.split(" ")[0] == name and (qtype is None or k.split(" ")[1] == qtype))

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        _live.discard(self)
        if self.proc is not None and not self._log.closed:
            self._log.close()

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()


_shared = None


def shared():
    """One server with no zones (every name REFUSED) for the whole test process."""
    global _shared
    if _shared is None or _shared.proc.poll() is not None:
        _shared = DnsServer("").start()
    return _shared

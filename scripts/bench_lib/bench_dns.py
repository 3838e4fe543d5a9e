# bench_dns.py - the loopback DNS server every asmtpd of the benchmark asks (dns.servers), so
# no run ever queries the machine's resolver (/etc/resolv.conf may point off this machine).
#
# t/e2e/dns_server.py under Debian's /usr/bin/python3 (python3-dnslib), started once per run
# on an ephemeral 127.0.0.1 port, stopped by its pid at exit. The zones give the benchmark
# client 127.0.0.1 a forward-confirmed name, as a well-run sending host has; stats() reads the
# server's query counts (queries per message for the report). Owner: tooling (scripts/bench_lib/).
import atexit
import json
import os
import signal
import subprocess
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ZONES = """$TTL 3600
$ORIGIN bench.test.
@        3600 SOA ns hostmaster 1 3600 600 86400 300
client        A 127.0.0.1
$ORIGIN 127.in-addr.arpa.
@        3600 SOA ns.bench.test. hostmaster.bench.test. 1 3600 600 86400 300
1.0.0         PTR client.bench.test.
"""

_server = None


class BenchDns:
    def __init__(self, work):
        self.dir = os.path.join(work, "dns")
        os.makedirs(self.dir, exist_ok=True)
        for f in ("port", "stats.json"):
            if os.path.exists(os.path.join(self.dir, f)):
                os.unlink(os.path.join(self.dir, f))
        with open(os.path.join(self.dir, "zones"), "w") as f:
            f.write(ZONES)
        self.log = open(os.path.join(self.dir, "server.log"), "wb")
        self.proc = subprocess.Popen(["/usr/bin/python3", os.path.join(REPO, "t", "e2e", "dns_server.py"),
                                      "--dir", self.dir], stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=self.log)
        deadline = time.monotonic() + 10
        port_file = os.path.join(self.dir, "port")
        while not os.path.exists(port_file):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("bench: dns_server.py did not start (python3-dnslib installed?)")
            time.sleep(0.02)
        with open(port_file) as f:
            self.port = int(f.read())

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def queries(self):
        try:
            with open(os.path.join(self.dir, "stats.json")) as f:
                return json.load(f)["total"]
        except (OSError, ValueError):
            return 0

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


def server(work):
    """The run's DNS server, started on first use."""
    global _server
    if _server is None:
        _server = BenchDns(work)
        atexit.register(_server.stop)
    return _server

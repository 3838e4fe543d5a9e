"""test_metrics.py - `metrics: {listen: ...}` (issue 15): the supervisor of `workers: 2` serves
GET /metrics with the workers' counts summed; the numbers add up to the sessions the test ran
(accepted and refused), promtool accepts the page, a worker killed with SIGKILL is restarted
without any counter going backwards, bad requests get 4xx, and a real Prometheus scrapes it.

One daemon for the class. Prometheus is Debian's `prometheus` package, started on loopback
with a config and a storage directory in a temporary directory, stopped by pid.
Owner: tooling (t/e2e/).
"""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.parse
import urllib.request

from harness import Client, Daemon, free_port

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
STARTED = re.compile(r"started as \S+ \(worker (\d+), pid (\d+)\)")
SESSION_ID = re.compile(r" ([0-9a-f]{16}) connect from ")

ACCEPTED = 4      # sessions that deliver one message each
REFUSED = 3       # sessions whose recipient rcpt_ok refuses (550), then QUIT


def parse(text):
    """{(name, frozenset(labels)): value} of every sample."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        labels = frozenset(LABEL.findall(m.group(3) or ""))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples, name):
    return sum(v for (n, _), v in samples.items() if n == name)


def http_get(port, path="/metrics", method="GET", raw=None, timeout=5):
    """(status, headers, body) of one request; raw: bytes sent as they are."""
    if raw is None:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        c.request(method, path)
        r = c.getresponse()
        body = r.read().decode()
        c.close()
        return r.status, dict(r.getheaders()), body
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(raw)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else 0
    return status, {}, data.decode(errors="replace")


class MetricsTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.metrics_port = free_port()
        cls.d = Daemon(settings={"workers": 2, "metrics": {"listen": f"127.0.0.1:{cls.metrics_port}"}})
        cls.d.start()
        cls.pids = cls.worker_pids(2)
        cls.started = time.monotonic()

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()
        try:
            cls.d.check_clean_exit()
        finally:
            cls.d.cleanup()

    @classmethod
    def worker_pids(cls, count, timeout=10, exclude=()):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = {int(i): int(p) for i, p in STARTED.findall(cls.d.stderr_text()) if int(p) not in exclude}
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError("workers did not start:\n" + cls.d.stderr_tail())

    def scrape(self):
        status, headers, body = http_get(self.metrics_port)
        self.assertEqual(status, 200, body)
        self.assertTrue(headers["Content-Type"].startswith("text/plain; version=0.0.4"), headers)
        return body

    def wait_for(self, cond, what, timeout=5):
        deadline = time.monotonic() + timeout
        while True:
            samples = parse(self.scrape())
            if cond(samples) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertTrue(cond(samples), f"{what}\n" + "\n".join(
            f"{n}{dict(ls)} {v}" for (n, ls), v in sorted(samples.items(), key=str) if n.startswith("asmtpd_s")))
        return samples

    def run_sessions(self):
        for _ in range(ACCEPTED):
            c = Client(self.d.port)
            c.ehlo()
            c.send_mail()
            c.cmd("QUIT", 221)
            c.close()
        for _ in range(REFUSED):
            c = Client(self.d.port)
            c.ehlo()
            c.cmd("MAIL FROM:<s@example.test>", 250)
            c.cmd("RCPT TO:<x@elsewhere.test>", 550)
            c.cmd("QUIT", 221)
            c.close()
        # The kernel spreads connections by a hash of their addresses: should one worker have
        # had them all, more plain sessions until the other served one too (counted).
        extra = 0
        while len({int(i[8:10], 16) for i in SESSION_ID.findall(self.d.stderr_text())}) < 2 and extra < 60:
            c = Client(self.d.port)
            c.cmd("QUIT", 221)
            c.close()
            extra += 1
        return extra

    def test_1_counts_add_up_across_workers(self):
        before = parse(self.scrape())
        self.assertEqual(value(before, "asmtpd_workers"), 2)
        self.assertEqual(value(before, "asmtpd_workers_up"), 2)
        self.assertEqual(value(before, "asmtpd_config_generation"), 1)
        extra = self.run_sessions()
        want = value(before, "asmtpd_sessions_total", outcome="quit") + ACCEPTED + REFUSED + extra
        s = self.wait_for(lambda s: value(s, "asmtpd_sessions_total", outcome="quit") >= want,
                          f"{want} sessions that ended with QUIT")
        self.assertEqual(value(s, "asmtpd_sessions_total", outcome="quit"), want)
        # Both workers served sessions (the kernel spreads them), and the page counts them all.
        ids = SESSION_ID.findall(self.d.stderr_text())
        self.assertEqual({int(i[8:10], 16) for i in ids}, {0, 1}, "expected sessions on both workers")
        self.assertEqual(len(ids), total(s, "asmtpd_sessions_total"))
        self.assertEqual(value(s, "asmtpd_connections_accepted_total"), len(ids))
        self.assertEqual(value(s, "asmtpd_sessions_open"), 0)
        self.assertEqual(value(s, "asmtpd_queue_messages_total", outcome="queued"), ACCEPTED)
        self.assertEqual(self.d.maildir.count(), ACCEPTED)
        self.assertEqual(value(s, "asmtpd_plugin_verdicts_total", plugin="rcpt_ok", hook="rcpt", verdict="deny"), REFUSED)
        self.assertEqual(value(s, "asmtpd_plugin_verdicts_total", plugin="rcpt_ok", hook="rcpt", verdict="ok"), ACCEPTED)
        self.assertEqual(value(s, "asmtpd_hook_verdicts_total", hook="queue", verdict="ok"), ACCEPTED)
        self.assertEqual(value(s, "asmtpd_hook_duration_seconds_count", hook="rcpt"), ACCEPTED + REFUSED)
        self.assertEqual(value(s, "asmtpd_hook_duration_seconds_bucket", hook="rcpt", le="+Inf"), ACCEPTED + REFUSED)
        self.assertGreater(value(s, "asmtpd_plugin_duration_seconds_count", plugin="queue/maildir"), 0)
        # 550 for each refused recipient, 554-free otherwise; 221 and 250s are 2xx.
        self.assertEqual(value(s, "asmtpd_replies_total", **{"class": "5xx"}), REFUSED)
        self.assertGreaterEqual(value(s, "asmtpd_replies_total", **{"class": "2xx"}), 5 * ACCEPTED + 3 * REFUSED + extra)
        self.assertEqual(value(s, "asmtpd_replies_total", **{"class": "3xx"}), ACCEPTED)   # 354
        self.assertGreater(value(s, "asmtpd_received_bytes_total"), 100 * ACCEPTED)
        # Every session looked up its client's name (FCrDNS of 127.0.0.1).
        self.assertGreaterEqual(value(s, "asmtpd_dns_lookups_total"), 1)

    def test_2_promtool_accepts_the_page(self):
        body = self.scrape()
        r = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_3_bad_requests(self):
        self.assertEqual(http_get(self.metrics_port, method="POST")[0], 405)
        self.assertEqual(http_get(self.metrics_port, path="/other")[0], 404)
        self.assertEqual(http_get(self.metrics_port, raw=b"NOT HTTP\r\n\r\n")[0], 400)
        self.assertEqual(http_get(self.metrics_port, raw=b"GET /metrics HTTP/2.0\r\n\r\n")[0], 505)
        status, _, body = http_get(self.metrics_port, method="HEAD")
        self.assertEqual((status, body), (200, ""))

    def test_4_killed_worker_keeps_the_counts(self):
        # A worker that dies in its first second stops the daemon (workers.hpp): let it live that long.
        time.sleep(max(0.0, self.started + 1.2 - time.monotonic()))
        before = parse(self.scrape())
        victim = self.pids[1]
        os.kill(victim, signal.SIGKILL)
        self.pids = self.__class__.pids = self.worker_pids(2, timeout=30, exclude=(victim,)) | {0: self.pids[0]}
        s = self.wait_for(lambda s: value(s, "asmtpd_workers_up") == 2 and value(s, "asmtpd_worker_exits_total") == 1,
                          "the worker restarted", timeout=10)
        for (name, labels), v in before.items():
            if name.endswith("_total") or name.endswith("_count"):
                self.assertGreaterEqual(s.get((name, labels), 0.0), v, f"{name}{dict(labels)} went backwards")
        c = Client(self.d.port)
        c.cmd("QUIT", 221)
        c.close()
        self.wait_for(lambda s: value(s, "asmtpd_sessions_total", outcome="quit") >
                      value(before, "asmtpd_sessions_total", outcome="quit"), "a session after the restart")

    @unittest.skipUnless(shutil.which("prometheus"), "Debian's prometheus package is not installed")
    def test_5_prometheus_scrapes_it(self):
        tmp = tempfile.mkdtemp(prefix="asmtpd-prom-")
        port = free_port()
        with open(os.path.join(tmp, "prometheus.yml"), "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                    "scrape_configs:\n  - job_name: asmtpd\n    static_configs:\n"
                    f"      - targets: ['127.0.0.1:{self.metrics_port}']\n")
        log = open(os.path.join(tmp, "prometheus.log"), "w")
        p = subprocess.Popen(["prometheus", f"--config.file={tmp}/prometheus.yml", f"--storage.tsdb.path={tmp}/data",
                              f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT)
        try:
            def query(q):
                url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": q})
                with urllib.request.urlopen(url, timeout=2) as r:
                    return json.load(r)["data"]["result"]
            deadline = time.monotonic() + 12
            up = series = []
            while time.monotonic() < deadline:
                try:
                    up = query('up{job="asmtpd"}')
                    series = query('asmtpd_sessions_total{outcome="quit"}')
                    if up and up[0]["value"][1] == "1" and series:
                        break
                except OSError:
                    pass
                time.sleep(0.2)
            self.assertTrue(up and up[0]["value"][1] == "1", f"up: {up}\n" + open(log.name).read()[-3000:])
            self.assertTrue(series and float(series[0]["value"][1]) >= 1, f"series: {series}")
        finally:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            log.close()
            shutil.rmtree(tmp, ignore_errors=True)


class SingleProcessMetricsTest(unittest.TestCase):
    """`workers: 1`: the one process serves the page on its own loop, a SIGHUP shows as a new
    configuration generation, and the endpoint does not keep the daemon from exiting."""

    def test_single_worker_serves_counts_reload_and_stop(self):
        port = free_port()
        d = Daemon(settings={"metrics": {"listen": f"127.0.0.1:{port}"}})
        try:
            d.start()
            c = Client(d.port)
            c.cmd("QUIT", 221)
            c.close()
            d.signal(signal.SIGHUP)
            d.wait_for_log(r"configuration reloaded")
            deadline = time.monotonic() + 5
            while True:
                status, _, body = http_get(port)
                s = parse(body)
                if value(s, "asmtpd_sessions_total", outcome="quit") >= 2 or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            self.assertEqual(status, 200)
            self.assertEqual(value(s, "asmtpd_sessions_total", outcome="quit"), 2)   # with the readiness probe
            self.assertEqual(value(s, "asmtpd_workers"), 1)
            self.assertEqual(value(s, "asmtpd_workers_up"), 1)
            self.assertEqual(value(s, "asmtpd_config_generation"), 2)
            self.assertEqual(value(s, "asmtpd_config_reloads_total", result="ok"), 1)
            d.stop()
            d.check_clean_exit()
        finally:
            d.kill()
            d.cleanup()


if __name__ == "__main__":
    unittest.main()

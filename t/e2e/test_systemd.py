"""test_systemd.py - asmtpd as a Type=notify systemd service: the sd_notify messages on a
notification socket the test owns (READY, STATUS, WATCHDOG heartbeats, RELOADING/READY
around SIGHUP, STOPPING), sent by the main pid only (NotifyAccess=main), with one worker and
with two; and the shipped unit file, checked by `systemd-analyze verify`.

Test machines do not boot systemd, so the test plays the service manager's part of the
protocol: a unix datagram socket with SO_PASSCRED, named by NOTIFY_SOCKET.
Owner: tooling (t/e2e/).
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
import unittest

from harness import BIN, REPO, E2ETestCase

UNIT = REPO / "tools" / "systemd" / "asmtpd.service"


class NotifySocket:
    """The service manager's end: datagrams with the sender's pid (SCM_CREDENTIALS)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="asmtpd-notify-")
        self.path = os.path.join(self.dir, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.bind(self.path)
        self.messages = []   # (pid, {field: value})

    def close(self):
        self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _receive(self, timeout):
        self.sock.settimeout(timeout)
        try:
            data, anc, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(12))
        except socket.timeout:
            return None
        pid = None
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid, _, _ = struct.unpack("iII", payload[:12])
        fields = dict(line.split("=", 1) for line in data.decode().split("\n") if "=" in line)
        self.messages.append((pid, fields))
        return pid, fields

    def wait_for(self, field, value=None, timeout=15):
        """The next message carrying `field` (=value when given); earlier ones are kept."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self._receive(max(0.05, deadline - time.monotonic()))
            if got and field in got[1] and (value is None or got[1][field] == value):
                return got
        raise AssertionError(f"no {field}={value or '*'} within {timeout} s; got {self.messages}")

    def count(self, field, seconds):
        """Messages carrying `field` received during the next `seconds`."""
        n = 0
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            got = self._receive(max(0.01, deadline - time.monotonic()))
            if got and field in got[1]:
                n += 1
        return n


class NotifyTest(E2ETestCase):

    def notify_run(self, workers):
        ns = NotifySocket()
        self.addCleanup(ns.close)
        # WATCHDOG_USEC 400 ms: the daemon must beat every 200 ms.
        d = self.start_daemon(settings={"workers": workers, "timeouts": {"shutdown": 2}},
                              env={"NOTIFY_SOCKET": ns.path, "WATCHDOG_USEC": "400000"})
        pid, ready = ns.wait_for("READY", "1")
        self.assertEqual(pid, d.proc.pid, "READY=1 must come from the main pid (NotifyAccess=main)")
        self.assertRegex(ready.get("STATUS", ""), r"^accepting mail")
        c = self.client(d)   # READY means it serves: a session works
        c.ehlo()
        c.close()

        beats = ns.count("WATCHDOG", 1.5)
        self.assertGreaterEqual(beats, 4, f"{beats} WATCHDOG=1 in 1.5 s with WATCHDOG_USEC=400000")
        self.assertTrue(all(p == d.proc.pid for p, f in ns.messages), f"a message not from the main pid: {ns.messages}")

        d.signal(signal.SIGHUP)
        pid, reloading = ns.wait_for("RELOADING", "1")
        self.assertEqual(pid, d.proc.pid)
        self.assertRegex(reloading.get("MONOTONIC_USEC", ""), r"^\d+$")
        ns.wait_for("READY", "1")

        d.signal(signal.SIGTERM)
        pid, stopping = ns.wait_for("STOPPING", "1")
        self.assertEqual(pid, d.proc.pid)
        self.assertEqual(d.wait(20), 0, d.stderr_tail())

    def test_one_worker(self):
        self.notify_run(1)

    def test_two_workers_supervisor_notifies(self):
        self.notify_run(2)

    def test_no_notify_socket_no_heartbeat_needed(self):
        # Started by hand: WATCHDOG_USEC alone (no socket) changes nothing, the daemon serves.
        d = self.start_daemon(env={"WATCHDOG_USEC": "100000"})
        c = self.client(d)
        self.assertEqual(c.ehlo().code, 250)


@unittest.skipUnless(shutil.which("systemd-analyze"), "systemd-analyze not installed (scripts/bootstrap --test installs systemd)")
class UnitFileTest(unittest.TestCase):

    def test_unit_verifies(self):
        # The unit names the installed paths; point them at this build so verify can check that
        # the commands exist, and drop the man pages (installed by the package, not here).
        text = UNIT.read_text()
        self.assertIn("Type=notify", text)
        self.assertRegex(text, r"(?m)^ExecReload=/bin/kill -HUP \$MAINPID$")
        self.assertRegex(text, r"(?m)^WatchdogSec=\d+")
        for option in ("ProtectSystem=strict", "PrivateTmp=yes", "NoNewPrivileges=yes", "CapabilityBoundingSet="):
            self.assertIn(option, text)
        text = text.replace("/usr/sbin/asmtpd", str(BIN))
        text = re.sub(r"(?m)^Documentation=.*\n", "", text)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "asmtpd.service")
            with open(path, "w") as f:
                f.write(text)
            r = subprocess.run(["systemd-analyze", "verify", path], capture_output=True, text=True, timeout=60)
            complaints = [line for line in (r.stdout + r.stderr).splitlines() if "asmtpd.service" in line]
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertEqual(complaints, [])


if __name__ == "__main__":
    unittest.main()

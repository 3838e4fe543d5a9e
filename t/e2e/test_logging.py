"""test_logging.py - asmtpd.yaml's log: section as an operator uses it (issue 15): json lines
that parse and carry client_ip, helo, sender and recipient on a refused RCPT; syslog datagrams
on a socket this test binds (log.syslog_socket), with the mail facility's priorities; the
supervisor's word for a worker killed by SIGKILL, in the workers' format; target journald on a
machine without a journal falls back to stderr; target journald with a journal: the native
protocol datagrams a socket of this test receives, fields and all.

libsystemd's sd_journal_sendv always sends to /run/systemd/journal/socket (no variable moves
it), so JournaldSocketTest runs the daemon in a mount namespace of its own (unshare -m, as root):
there a tmpfs covers /run and the test's directory, holding its socket, is bound at
/run/systemd/journal. The machine's /run and journal are never touched. Owner: tooling (t/e2e/).
"""

import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time

from harness import E2ETestCase

HELO = "client.e2e.test"
SENDER = "<s@example.test>"
RECIPIENT = "<x@elsewhere.test>"   # not in rcpthosts: rcpt_ok refuses it (550 5.7.1)


def refuse_one_rcpt(test, d):
    c = test.client(d)
    c.ehlo(HELO)
    c.cmd("MAIL FROM:" + SENDER, 250)
    c.cmd("RCPT TO:" + RECIPIENT, 550)
    c.cmd("QUIT", 221)
    c.close()


def json_lines(text):
    """Every line of the daemon's stderr as an object; a line that is not JSON fails."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


class JsonFormatTest(E2ETestCase):

    def test_json_lines_parse_and_the_reject_line_carries_the_envelope(self):
        d = self.start_daemon(settings={"log_level": "info", "log": {"format": "json"}})
        refuse_one_rcpt(self, d)
        self.assertIsNotNone(d.wait_for_log(r'"message":"reject: rcpt: '), d.stderr_tail())
        lines = json_lines(d.stderr_text())
        rejects = [j for j in lines if j["message"].startswith("reject: rcpt:")]
        self.assertEqual(len(rejects), 1, rejects)
        r = rejects[0]
        self.assertEqual(r["level"], "info")
        self.assertRegex(r["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertRegex(r["session"], r"^[0-9a-f]{16}$")
        self.assertNotEqual(r["session"], "0" * 16)
        self.assertIn("[rcpt_ok] DENY 550 5.7.1", r["message"])
        self.assertEqual((r["client_ip"], r["helo"], r["sender"], r["recipient"]),
                         ("127.0.0.1", HELO, SENDER, RECIPIENT))
        self.assertNotIn("worker", r)   # one process: no worker number
        # The session's other lines share its id.
        same = [j for j in lines if j["session"] == r["session"]]
        self.assertTrue(any(j["message"].startswith("connect from 127.0.0.1") for j in same))


class SyslogTargetTest(E2ETestCase):

    def test_syslog_datagrams_carry_facility_priority_and_the_complete_reject_line(self):
        sockdir = tempfile.mkdtemp(prefix="asmtpd-syslog-")
        self.addCleanup(shutil.rmtree, sockdir, True)
        path = os.path.join(sockdir, "log")
        rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(rx.close)
        rx.bind(path)
        os.chmod(path, 0o666)   # the daemon may run as another user
        rx.settimeout(5)
        d = self.start_daemon(settings={
            "log_level": "info",
            "log": {"target": "syslog", "facility": "local3", "syslog_socket": path}})
        refuse_one_rcpt(self, d)
        got = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any("reject: rcpt:" in g for g in got):
            got.append(rx.recv(65536).decode("utf-8", "replace"))
        line = re.compile(r"^<(\d+)>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d asmtpd\[(\d+)\]: (\w+) [0-9a-f]{16} (.*)$")
        parsed = [line.match(g) for g in got]
        self.assertTrue(all(parsed), got)
        names = {"error": 3, "warn": 4, "notice": 5, "info": 6, "debug": 7}
        for m in parsed:   # local3 = 19: priority 19*8 + severity, severity as the level says
            self.assertEqual(int(m.group(1)), 19 * 8 + names[m.group(3)], m.group(0))
            self.assertEqual(int(m.group(2)), d.proc.pid)
        reject = [m.group(4) for m in parsed if "reject: rcpt:" in m.group(4)]
        self.assertEqual(len(reject), 1)
        self.assertIn("[rcpt_ok] DENY 550 5.7.1", reject[0])
        self.assertTrue(reject[0].endswith(
            f" client_ip=127.0.0.1 helo={HELO} sender={SENDER} recipient={RECIPIENT}"), reject[0])
        self.assertNotIn("connect from", d.stderr_text())   # the session's lines went to syslog


class SupervisorTest(E2ETestCase):

    def test_a_worker_killed_by_sigkill_is_named_in_words_in_json(self):
        d = self.start_daemon(settings={"workers": 2, "log_level": "info", "log": {"format": "json"}})
        started = {}
        deadline = time.monotonic() + 10
        while len(started) < 2 and time.monotonic() < deadline:
            for j in json_lines(d.stderr_text()):
                m = re.search(r"\(worker (\d+), pid (\d+)\)", j["message"])
                if m:
                    self.assertEqual(j["worker"], int(m.group(1)))
                    started[int(m.group(1))] = int(m.group(2))
            time.sleep(0.05)
        self.assertEqual(len(started), 2, d.stderr_tail())
        time.sleep(1.1)   # a worker that dies in its first second stops the daemon (workers.hpp)
        os.kill(started[0], signal.SIGKILL)
        want = f"worker 0 (pid {started[0]}) killed by signal 9 (SIGKILL); restarting it"
        self.assertIsNotNone(d.wait_for_log(re.escape(want), timeout=10), d.stderr_tail())
        sup = [j for j in json_lines(d.stderr_text()) if j.get("tag") == "supervisor"]
        self.assertIn(want, [j["message"] for j in sup])
        self.assertTrue(all("worker" not in j for j in sup), sup)   # the supervisor is no worker
        self.assertEqual([j["level"] for j in sup if j["message"] == want], ["error"])


class JournaldFallbackTest(E2ETestCase):

    def test_journald_without_a_journal_logs_to_stderr(self):
        if os.path.exists("/run/systemd/journal/socket"):
            self.skipTest("a journal runs here: the lines go to it")
        d = self.start_daemon(settings={"log_level": "info", "log": {"target": "journald"}})
        refuse_one_rcpt(self, d)
        self.assertIsNotNone(d.wait_for_log(
            r"reject: rcpt: \[rcpt_ok\] DENY 550 .* client_ip=127\.0\.0\.1 helo=client\.e2e\.test"), d.stderr_tail())


# Runs "$@" (the daemon) with the test's socket directory as /run/systemd/journal, in a mount
# namespace of its own; exec keeps the daemon's pid the one the harness started.
JOURNAL_NAMESPACE = ("mount -t tmpfs -o mode=0755 asmtpd-e2e-run /run && mkdir -p /run/systemd/journal"
                     " && mount --bind \"$ASMTPD_E2E_JOURNAL\" /run/systemd/journal && exec \"$@\"")


def parse_journal_datagram(data):
    """The journal's native protocol (systemd.io/JOURNAL_NATIVE_PROTOCOL): KEY=VALUE lines, or
    KEY, a newline, a 64-bit little-endian length, the value and a newline (values with a
    newline in them). Returns {KEY: [values]}; a malformed datagram fails the test."""
    fields = {}
    i = 0
    while i < len(data):
        nl = data.index(b"\n", i)
        line = data[i:nl]
        if b"=" in line:
            key, value = line.split(b"=", 1)
            i = nl + 1
        else:
            key = line
            (n,) = struct.unpack_from("<Q", data, nl + 1)
            value = data[nl + 9:nl + 9 + n]
            if data[nl + 9 + n:nl + 10 + n] != b"\n":
                raise AssertionError(f"binary field {key!r}: no newline after its {n} bytes")
            i = nl + 10 + n
        fields.setdefault(key.decode(), []).append(value.decode("utf-8", "replace"))
    return fields


def receive_journal_entry(rx):
    """One entry: the datagram itself, or (a line past the socket's send buffer) the sealed
    memfd libsystemd passes with SCM_RIGHTS and no payload."""
    data, fds, _, _ = socket.recv_fds(rx, 1 << 20, 4)
    for fd in fds:
        try:
            if not data:
                os.lseek(fd, 0, os.SEEK_SET)
                chunks = []
                while chunk := os.read(fd, 1 << 16):
                    chunks.append(chunk)
                data = b"".join(chunks)
        finally:
            os.close(fd)
    return parse_journal_datagram(data)


class ParseJournalDatagramTest(E2ETestCase):

    def test_both_field_forms(self):
        raw = b"MESSAGE=hi there\nBODY\n" + struct.pack("<Q", 5) + b"a\nb=c\nPRIORITY=6\n"
        self.assertEqual(parse_journal_datagram(raw), {"MESSAGE": ["hi there"], "BODY": ["a\nb=c"],
                                                       "PRIORITY": ["6"]})
        with self.assertRaises(AssertionError):
            parse_journal_datagram(b"BODY\n" + struct.pack("<Q", 5) + b"a\nb=cX")


class JournaldSocketTest(E2ETestCase):

    def test_a_refused_recipient_reaches_the_journal_with_its_fields(self):
        if os.geteuid() != 0:
            self.skipTest("needs root for a private mount namespace (unshare -m)")
        if subprocess.run(["unshare", "--mount", "true"], capture_output=True, timeout=10).returncode != 0:
            self.skipTest("unshare --mount is not allowed here")
        sockdir = tempfile.mkdtemp(prefix="asmtpd-journal-")
        self.addCleanup(shutil.rmtree, sockdir, True)
        rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(rx.close)
        rx.bind(os.path.join(sockdir, "socket"))
        rx.settimeout(5)
        d = self.start_daemon(
            settings={"log_level": "info",
                      "log": {"target": "journald", "facility": "local3", "identifier": "asmtpd-e2e"}},
            env={"ASMTPD_E2E_JOURNAL": sockdir},
            wrapper=["unshare", "--mount", "--propagation", "private", "sh", "-c", JOURNAL_NAMESPACE, "sh"])
        refuse_one_rcpt(self, d)
        entries = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(
                "reject: rcpt:" in e.get("MESSAGE", [""])[0] for e in entries):
            entries.append(receive_journal_entry(rx))
        rejects = [e for e in entries if "reject: rcpt:" in e.get("MESSAGE", [""])[0]]
        self.assertEqual(len(rejects), 1, entries)
        r = rejects[0]
        for key, values in r.items():   # every field once: ours, not libsystemd's own identifier
            self.assertEqual(len(values), 1, (key, values))
        f = {k: v[0] for k, v in r.items()}
        self.assertRegex(f["MESSAGE"], r"^info [0-9a-f]{16} reject: rcpt: \[rcpt_ok\] DENY 550 5\.7\.1 ")
        self.assertEqual(f["PRIORITY"], "6")
        self.assertEqual(f["SYSLOG_IDENTIFIER"], "asmtpd-e2e")
        self.assertEqual(f["SYSLOG_FACILITY"], "19")
        self.assertRegex(f["SESSION_ID"], r"^[0-9a-f]{16}$")
        self.assertIn(f["SESSION_ID"], f["MESSAGE"])
        self.assertEqual((f["CLIENT_IP"], f["HELO"], f["SENDER"], f["RECIPIENT"]),
                         ("127.0.0.1", HELO, SENDER, RECIPIENT))
        self.assertNotIn("ASMTPD_WORKER", f)   # one process: no worker number
        # The session's other lines went to the journal too, none to stderr.
        same = [e for e in entries if e.get("SESSION_ID") == [f["SESSION_ID"]]]
        self.assertTrue(any(e["MESSAGE"][0].split(" ", 2)[2].startswith("connect from 127.0.0.1") for e in same),
                        same)
        self.assertNotIn("reject:", d.stderr_text())
        self.assertNotIn("connect from", d.stderr_text())

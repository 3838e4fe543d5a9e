"""test_smtp_forward.py - client -> asmtpd (queue/smtp_forward, queue/lmtp) -> a real next hop.

The next hop is Postfix's smtp-sink (dumping every transaction it accepted to a file), or the
scripted t/fixtures/lmtp_server.py for per-recipient LMTP answers. The oracle: the client gets
250 after the dot only when the next hop accepted the message, and then the next hop holds it
byte for byte (after our Received header); every fault gives the client the next hop's own 5xx
or a 451, never a false 250, and the next hop holds nothing extra.
Helpers here start each peer on a free loopback port, record its pid and kill it by that pid.
Owner: next-hop hand-off (queue/smtp_forward, queue/lmtp).
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

from harness import E2ETestCase, dot_stuff, free_port
from postfix_support import smtp_sink

HERE = Path(__file__).resolve().parent
FIXTURE = HERE.parent / "fixtures" / "lmtp_server.py"


def _wait_port(port, proc, timeout=10.0, host="127.0.0.1"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"peer exited with {proc.returncode} during start-up")
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.02)
    raise AssertionError(f"peer did not listen on {port}")


class SmtpSink:
    """smtp-sink on host:port (127.0.0.1 and a fresh free port unless given), dumping to a temp dir."""

    def __init__(self, *options, port=None, host="127.0.0.1"):
        self.dir = Path(tempfile.mkdtemp(prefix="asmtpd-sink-"))
        os.chmod(self.dir, 0o777)          # smtp-sink drops to nobody when run as root
        self.port = port or free_port()
        program, self.env = smtp_sink()
        argv = [program]
        if os.geteuid() == 0:
            argv += ["-u", "nobody"]
        self.host = host
        argv += ["-d", str(self.dir / "dump.")] + list(options) + [f"{host}:{self.port}", "64"]
        self.err = open(self.dir / "stderr.log", "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.err, stderr=self.err, env=self.env)
        _wait_port(self.port, self.proc, host=host)

    @property
    def hop(self):
        return f"{self.host}:{self.port}"

    def kill(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.kill()
        self.err.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def dumps(self):
        """[(mail_args, [rcpt_args], content)] of complete transactions; content is what came
        after smtp-sink's own three-line Received header (LF line ends, plus one LF)."""
        out = []
        for p in sorted(self.dir.glob("dump.*")):
            raw = p.read_bytes()
            i = raw.find(b"\nReceived: ")
            if i < 0:
                continue
            head = raw[:i + 1].decode("latin-1")
            pos = i + 1
            for _ in range(3):
                pos = raw.index(b"\n", pos) + 1
            mail = re.search(r"^X-Mail-Args: (.*)$", head, re.M)
            rcpts = re.findall(r"^X-Rcpt-Args: (.*)$", head, re.M)
            out.append((mail.group(1) if mail else None, rcpts, raw[pos:]))
        return out


class LmtpFixture:
    """t/fixtures/lmtp_server.py on a loopback port."""

    def __init__(self, *options):
        self.dir = Path(tempfile.mkdtemp(prefix="asmtpd-lmtp-"))
        ready = self.dir / "ready"
        self.err = open(self.dir / "stderr.log", "wb")
        self.proc = subprocess.Popen([sys.executable, str(FIXTURE), "--listen", "127.0.0.1:0",
                                      "--ready-file", str(ready), "--out", str(self.dir / "out")]
                                     + list(options),
                                     stdin=subprocess.DEVNULL, stdout=self.err, stderr=self.err)
        deadline = time.monotonic() + 10
        while not ready.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("lmtp_server.py did not start")
            time.sleep(0.02)
        self.port = int(ready.read_text())

    @property
    def hop(self):
        return f"127.0.0.1:{self.port}"

    def messages(self):
        out = self.dir / "out"
        return [(p.read_bytes(), json.loads(p.with_suffix(".json").read_text()))
                for p in sorted(out.glob("*.eml"))]

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.err.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def lf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n")


def tricky_content(size):
    """Header, dot lines, 8-bit text and lines over 1000 octets, CRLF throughout, ~size octets."""
    lines = [b"Subject: forwarded", b"X-Eight: caf\xc3\xa9", b"", b".", b"..", b".leading dot", b" .space dot"]
    n = 0
    total = sum(len(x) + 2 for x in lines)
    while total < size:
        n += 1
        line = (b"." if n % 5 == 0 else b"") + bytes((32 + (n * 7 + k) % 224) if (32 + (n * 7 + k) % 224) != 127
                                                      else 120 for k in range(n * 37 % (1500 if n % 11 == 0 else 200)))
        lines.append(line)
        total += len(line) + 2
    return b"\r\n".join(lines) + b"\r\n"


class SmtpForwardTest(E2ETestCase):

    def sink(self, *options, port=None):
        s = SmtpSink(*options, port=port)
        self.addCleanup(s.stop)
        return s

    def forwarder(self, hop, *args, plugin="queue/smtp_forward"):
        return self.start_daemon(plugins=["rcpt_ok", " ".join([plugin, hop] + list(args))])

    def send(self, d, content, rcpts=("a@example.test", ), c=None):
        """One message over a new (or the given) client connection; returns the final reply."""
        own = c is None
        if own:
            c = self.client(d)
            c.ehlo()
        r = c.send_mail(rcpts=rcpts, body=dot_stuff(content))
        if own:
            c.cmd("QUIT", 221)
        return r

    def assert_forwarded(self, sink, contents):
        dumps = sink.dumps()
        self.assertEqual(len(dumps), len(contents), f"{len(dumps)} messages at the next hop")
        got = sorted(d[2] for d in dumps)
        for content in contents:
            match = [g for g in got if g.endswith(lf(content) + b"\n")]
            self.assertTrue(match, f"no dump ends with the {len(content)}-octet message")
            self.assertTrue(match[0].startswith(b"Received: from "), match[0][:200])
            # Nothing between our Received field (first line plus folded ones) and the content.
            end = match[0].index(b"\n") + 1
            while match[0][end:end + 1] in (b" ", b"\t"):
                end = match[0].index(b"\n", end) + 1
            self.assertIn(b"(asmtpd) with ESMTP", match[0][:end])
            self.assertEqual(match[0][end:], lf(content) + b"\n")

    # ------------------------------------------------------------------ delivery

    def test_byte_identical_hand_off(self):
        sink = self.sink()
        d = self.forwarder(sink.hop)
        contents = [b"", b"Subject: tiny\r\n\r\nhi\r\n", tricky_content(20000), tricky_content(1_500_000)]
        for content in contents:
            r = self.send(d, content, rcpts=("a@example.test", "b@localhost"))
            self.assertEqual(r.code, 250, r.raw)
            self.assertRegex(r.text, r"Queued as \S+ \(250 2\.0\.0 Ok")
        self.assert_forwarded(sink, contents)
        for mail, rcpts, _ in sink.dumps():
            self.assertEqual(mail, "<s@example.test>")
            self.assertEqual(rcpts, ["<a@example.test>", "<b@localhost>"])

    def test_connections_are_reused(self):
        sink = self.sink()
        d = self.forwarder(sink.hop)
        c = self.client(d)
        c.ehlo()
        for i in range(3):
            self.assertEqual(self.send(d, b"Subject: same %d\r\n\r\nx\r\n" % i, c=c).code, 250)
        c.cmd("QUIT", 221)
        for i in range(3):
            self.assertEqual(self.send(d, b"Subject: new %d\r\n\r\nx\r\n" % i).code, 250)
        self.assertEqual(len(sink.dumps()), 6)
        log = d.stderr_text()
        self.assertEqual(log.count("> EHLO " + "mx.e2e.test"), 1, "one next-hop connection for six messages")
        self.assertEqual(log.count("> RSET"), 5)

    def test_stop_with_idle_next_hop_connection_is_prompt(self):
        sink = self.sink()
        d = self.forwarder(sink.hop)
        self.assertEqual(self.send(d, b"Subject: s\r\n\r\nx\r\n").code, 250)
        t0 = time.monotonic()
        self.assertEqual(d.stop(), 0)
        self.assertLess(time.monotonic() - t0, 5.0, "an idle pooled connection must not delay SIGTERM")
        d.check_clean_exit()

    # ------------------------------------------------------------------ faults

    def test_faults_never_give_a_false_250(self):
        # smtp-sink: -f gives "500 5.3.0 Error: command failed", -r "450 4.3.0 ...",
        # -q hangs up without a reply, -Q answers 421 and hangs up, -w delays the DATA reply.
        cases = [
            (("-f", "RCPT"), 500, "5.3.0"), (("-r", "RCPT"), 451, "4.3.0"),
            (("-f", "MAIL"), 500, "5.3.0"), (("-r", "MAIL"), 451, "4.3.0"),
            (("-f", "DATA"), 500, "5.3.0"), (("-r", "DATA"), 451, "4.3.0"),
            (("-f", "."), 500, "5.3.0"), (("-r", "."), 451, "4.3.0"),
            (("-q", "RCPT"), 451, "4.3.0"), (("-q", "."), 451, "4.3.0"),
            (("-Q", "MAIL"), 451, "4.3.0"), (("-Q", "."), 451, "4.3.0"),
            (("-f", "EHLO,HELO"), 451, "4.3.0"), (("-w", "4"), 451, "4.3.0"),
        ]
        for options, code, esc in cases:
            with self.subTest(options=options):
                sink = SmtpSink(*options)
                try:
                    d = self.forwarder(sink.hop, "timeout", "1")
                    r = self.send(d, b"Subject: fault\r\n\r\nbody\r\n")
                    self.assertEqual(r.code, code, r.raw)
                    self.assertEqual(r.esc, esc, r.raw)
                    if code == 500:
                        self.assertIn("Error: command failed", r.text)
                    if options[1] != ".":
                        self.assertEqual(sink.dumps(), [], "the next hop holds a message nobody accepted")
                    # The session goes on after a refused message.
                    c = self.client(d)
                    c.ehlo()
                    c.cmd("RSET", 250)
                    c.cmd("QUIT", 221)
                    d.stop()
                    d.check_clean_exit()
                finally:
                    sink.stop()

    def test_next_hop_killed_mid_run_then_back(self):
        sink = SmtpSink("-w", "3")
        port = sink.port
        try:
            d = self.forwarder(sink.hop, "timeout", "10")
            c = self.client(d)
            c.ehlo()
            c.cmd("MAIL FROM:<s@example.test>", 250)
            c.cmd("RCPT TO:<a@example.test>", 250)
            c.cmd("DATA", 354)
            c.send(b"Subject: cut\r\n\r\nbody\r\n.\r\n")
            time.sleep(1.0)          # asmtpd is waiting for smtp-sink's reply to DATA
            sink.kill()
            r = c.read_reply()
            self.assertEqual(r.code, 451, r.raw)
            self.assertEqual(r.esc, "4.3.0")
            # While the next hop is down: 451 at once (connection refused), never 250.
            r = self.send(d, b"Subject: down\r\n\r\nx\r\n")
            self.assertEqual(r.code, 451, r.raw)
            self.assertEqual(sink.dumps(), [])
        finally:
            sink.stop()
        back = self.sink(port=port)
        r = self.send(d, b"Subject: back\r\n\r\ny\r\n")
        self.assertEqual(r.code, 250, r.raw)
        self.assert_forwarded(back, [b"Subject: back\r\n\r\ny\r\n"])

    def test_nobody_listening(self):
        d = self.forwarder(f"127.0.0.1:{free_port()}")
        r = self.send(d, b"Subject: s\r\n\r\nx\r\n")
        self.assertEqual(r.code, 451, r.raw)
        self.assertEqual(r.esc, "4.3.0")
        self.assertNotIn("127.0.0.1", r.text)   # no internal address to the client

    def test_bad_next_hop_fails_start_up(self):
        from harness import RUN_AS_YAML, run_asmtpd
        with tempfile.TemporaryDirectory() as tmp:
            Path(tmp, "asmtpd.yaml").write_text("hostname: mx.e2e.test\nlisten:\n  - address: 127.0.0.1\n    port: 2525\n"
                                                + RUN_AS_YAML)
            Path(tmp, "plugins").write_text("rcpt_ok\nqueue/smtp_forward relay..example.net:25\n")
            Path(tmp, "rcpthosts").write_text("example.test\n")
            p = run_asmtpd(["--config", tmp, "--check"])
            self.assertNotEqual(p.returncode, 0)
            self.assertIn(b"neither an IP address nor a host name", p.stderr)

    # ------------------------------------------------------------------ LMTP

    def test_lmtp_per_recipient_answers(self):
        fx = LmtpFixture("--final", "b@example.test=552 5.2.2 Over quota")
        self.addCleanup(fx.stop)
        d = self.forwarder(fx.hop, plugin="queue/lmtp")
        content = b"Subject: lmtp\r\n\r\n.dot\r\n"
        r = self.send(d, content, rcpts=("a@example.test", ))
        self.assertEqual(r.code, 250, r.raw)
        r = self.send(d, content, rcpts=("a@example.test", "b@example.test"))
        self.assertEqual(r.code, 451, r.raw)           # mixed: the client retries the whole message
        r = self.send(d, content, rcpts=("b@example.test", ))
        self.assertEqual(r.code, 552, r.raw)           # all refused: the next hop's own answer
        self.assertEqual(r.esc, "5.2.2")
        msgs = fx.messages()
        self.assertEqual([m[1]["rcpts"] for m in msgs], [["a@example.test"], ["a@example.test", "b@example.test"]])
        self.assertTrue(msgs[0][0].endswith(content))
        self.assertTrue(msgs[0][0].startswith(b"Received: from "))
        self.assertIn("will be delivered again when the client retries", d.stderr_text())


if __name__ == "__main__":
    unittest.main()

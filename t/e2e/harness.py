"""harness.py - run the real asmtpd on loopback with a throw-away config and talk SMTP to it.

Daemon starts build/asmtpd (or $ASMTPD_BIN) on a free 127.0.0.1 port with a temporary config
directory (asmtpd.yaml, plugins, flat files), waits for its greeting, and stops it by pid with
SIGTERM (SIGKILL after 10 s), asserting exit code 0 and a stderr free of sanitizer reports.
Client is a raw-socket SMTP client (send / expect, multi-line replies, timeouts, transcript).
Maildir reads what queue/maildir delivered. Every daemon's dns.servers is a loopback DNS server
started here (dns_support.shared(), no zones) unless the test passes its own. Every blocking call has a timeout; nothing here
touches files outside its temporary directory or signals a process it did not start.
Owner: tooling (t/e2e/).
"""

import atexit
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from pathlib import Path

import dns_support

REPO = Path(__file__).resolve().parents[2]
BIN = os.environ.get("ASMTPD_BIN", str(REPO / "build" / "asmtpd"))
HOSTNAME = "mx.e2e.test"
TIMEOUT = float(os.environ.get("ASMTPD_E2E_TIMEOUT", "5"))    # one reply
START_TIMEOUT = 20.0                                           # ASan start-up can be slow
STOP_TIMEOUT = 10.0
KEEP = os.environ.get("ASMTPD_E2E_KEEP") == "1"                 # keep temp dirs for debugging
SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "runtime error:")

DEFAULT_PLUGINS = ["rcpt_ok", "queue/maildir {maildir}"]
DEFAULT_FILES = {"me": HOSTNAME + "\n", "rcpthosts": "example.test\nlocalhost\n"}

_live = set()   # daemons still running, killed by pid if the runner is interrupted


def _kill_live():
    for d in list(_live):
        d.kill()


atexit.register(_kill_live)


def free_port():
    """A loopback port nobody listens on right now (bind to 0, read it, release it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- YAML (stdlib only)

def _scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, (list, tuple)) and all(not isinstance(x, (dict, list)) for x in v):
        return "[" + ", ".join(_scalar(x) for x in v) + "]"
    return json.dumps(str(v))   # a JSON string is a valid double-quoted YAML scalar


def to_yaml(value, indent=0):
    """Block-style YAML for dicts, lists of dicts and scalars (enough for asmtpd.yaml)."""
    pad = " " * indent
    out = []
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, dict):
                out.append(f"{pad}{k}:")
                out.append(to_yaml(v, indent + 2))
            elif isinstance(v, list) and any(isinstance(x, dict) for x in v):
                out.append(f"{pad}{k}:")
                out.append(to_yaml(v, indent + 2))
            else:
                out.append(f"{pad}{k}: {_scalar(v)}")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict):
                sub = to_yaml(item, indent + 2).splitlines()
                out.append(f"{pad}- {sub[0].lstrip()}")
                out.extend(sub[1:])
            else:
                out.append(f"{pad}- {_scalar(item)}")
    else:
        out.append(pad + _scalar(value))
    return "\n".join(x for x in out if x != "")


def deep_merge(base, over):
    out = dict(base)
    for k, v in (over or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


# ---------------------------------------------------------------- daemon

class StartError(AssertionError):
    pass


class Daemon:
    """One asmtpd process with its own temporary config, spool and maildir."""

    def __init__(self, plugins=None, files=None, settings=None, args=(), env=None):
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
        }, settings)
        self.plugins = list(DEFAULT_PLUGINS if plugins is None else plugins)
        self.files = dict(DEFAULT_FILES)
        self.files.update(files or {})
        self.args = list(args)
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
        path = self.config_dir / name
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
            [BIN, "--config", str(self.config_dir)] + self.args,
            stdin=subprocess.DEVNULL, stdout=self._err, stderr=self._err,
            cwd=str(self.tmp), env=self.env)
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


def run_asmtpd(args, timeout=30, env=None):
    """Runs the binary to completion (for --check, --version, --help)."""
    e = dict(os.environ)
    e.setdefault("ASAN_OPTIONS", "detect_leaks=1")
    e.update(env or {})
    return subprocess.run([BIN] + list(args), capture_output=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, env=e)


# ---------------------------------------------------------------- client

class Reply:
    RX_ESC = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})$")

    def __init__(self, code, lines, raw):
        self.code = code
        self.lines = lines    # text after "250-" / "250 " of each line
        self.raw = raw        # the bytes as received

    @property
    def esc(self):
        """The enhanced status code of the first line ("2.1.0"), or None."""
        word = self.lines[0].split(" ", 1)[0] if self.lines and self.lines[0] else ""
        return word if self.RX_ESC.match(word) else None

    @property
    def text(self):
        return "\n".join(self.lines)

    def __repr__(self):
        return f"Reply({self.raw!r})"


class ConnectionClosed(AssertionError):
    pass


class Client:
    """A raw SMTP client: send bytes, read complete (multi-line) replies, keep a transcript."""

    def __init__(self, port, timeout=TIMEOUT, greet=True):
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self._init(s, port, timeout)
        self.greeting = self.expect(220) if greet else None

    @classmethod
    def from_socket(cls, sock, port, timeout=TIMEOUT, greet=False):
        c = cls.__new__(cls)
        c._init(sock, port, timeout)
        c.greeting = c.expect(220) if greet else None
        return c

    def _init(self, sock, port, timeout):
        self.sock = sock
        self.port = port
        self.timeout = timeout
        self.buf = b""
        self.eof = False
        self.transcript = []
        sock.settimeout(timeout)

    # -- transcript
    def _note(self, who, data):
        if len(data) > 300:
            data = data[:200] + b"...(%d bytes)..." % len(data) + data[-60:]
        self.transcript.append(f"{who}: {data!r}")

    def dump(self):
        return "---- transcript ----\n" + "\n".join(self.transcript[-60:]) + "\n----"

    def fail(self, msg):
        raise AssertionError(f"{msg}\n{self.dump()}")

    # -- sending
    def send(self, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        self._note("C", data)
        self.sock.sendall(data)

    def send_in_thread(self, data):
        """sendall() on a thread, for payloads bigger than the socket buffers. Returns the
        thread; its .error is the OSError the send ended with, if any (server closed early)."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        self._note("C", data)
        t = threading.Thread(target=self._send_bg, args=(data, ), daemon=True)
        t.error = None
        t.start()
        return t

    def _send_bg(self, data):
        try:
            self.sock.sendall(data)
        except OSError as e:
            threading.current_thread().error = e

    # -- receiving
    def _fill(self, deadline):
        if self.eof:
            return False
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout()
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        finally:
            self.sock.settimeout(self.timeout)
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def read_line(self, timeout=None):
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while b"\n" not in self.buf:
            try:
                if not self._fill(deadline):
                    raise ConnectionClosed(f"connection closed (pending {self.buf!r})\n{self.dump()}")
            except socket.timeout:
                raise AssertionError(f"timed out waiting for a reply line (pending {self.buf!r})\n"
                                     + self.dump()) from None
        line, self.buf = self.buf.split(b"\n", 1)
        return line + b"\n"

    def read_reply(self, timeout=None):
        """One complete reply: "250-..." lines up to the "250 ..." one."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        raw = b""
        lines = []
        code = None
        while True:
            line = self.read_line(timeout=max(0.0, deadline - time.monotonic()))
            raw += line
            if not line.endswith(b"\r\n"):
                self._note("S", raw)
                self.fail(f"reply line not ended by CRLF: {line!r}")
            text = line[:-2].decode("utf-8", errors="replace")
            m = re.match(r"^(\d{3})([ -]?)(.*)$", text)
            if not m or (code is not None and int(m.group(1)) != code):
                self._note("S", raw)
                self.fail(f"malformed reply line {line!r}")
            code = int(m.group(1))
            lines.append(m.group(3))
            if m.group(2) != "-":
                self._note("S", raw)
                return Reply(code, lines, raw)

    def expect(self, code, esc=None, timeout=None):
        """Reads a reply; asserts its code (int, or tuple of accepted codes) and esc."""
        r = self.read_reply(timeout)
        codes = code if isinstance(code, (tuple, list, set)) else (code, )
        if r.code not in codes:
            self.fail(f"expected {code}, got {r.raw!r}")
        if esc is not None and r.esc != esc:
            self.fail(f"expected enhanced status {esc}, got {r.raw!r}")
        return r

    def cmd(self, line, code=None, esc=None, timeout=None):
        """Sends one command line (CRLF added) and reads its reply."""
        self.send(line + "\r\n" if isinstance(line, str) else line + b"\r\n")
        if code is None:
            return self.read_reply(timeout)
        return self.expect(code, esc, timeout)

    def wait_closed(self, timeout=TIMEOUT):
        """True when the server closes the connection within timeout. Bytes that arrive
        meanwhile stay in the buffer (see pending())."""
        deadline = time.monotonic() + timeout
        try:
            while self._fill(deadline):
                pass
            return True
        except socket.timeout:
            return False
        except OSError:
            return True

    def pending(self):
        return self.buf

    def drain(self, timeout):
        """Reads whatever arrives within timeout (without waiting for a full reply) and
        returns all unread bytes."""
        deadline = time.monotonic() + timeout
        try:
            while self._fill(deadline):
                pass
        except (socket.timeout, OSError):
            pass
        return self.buf

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    # -- conveniences
    def ehlo(self, name="client.e2e.test"):
        return self.cmd(f"EHLO {name}", 250)

    def send_mail(self, sender="s@example.test", rcpts=("a@example.test", ), body=b"Subject: t\r\n\r\nhi\r\n",
                  mail_params=""):
        """MAIL, RCPT..., DATA, body (CRLF-terminated, already dot-stuffed), final dot.
        Returns the reply to the final dot."""
        self.cmd(f"MAIL FROM:<{sender}>" + (" " + mail_params if mail_params else ""), 250)
        for r in rcpts:
            self.cmd(f"RCPT TO:<{r}>", 250)
        self.cmd("DATA", 354)
        self.send(body + b".\r\n")
        return self.read_reply()


def dot_stuff(body: bytes) -> bytes:
    """RFC 5321 §4.5.2 transparency: a line starting with '.' gets one more."""
    out = []
    for line in body.split(b"\r\n"):
        out.append(b"." + line if line.startswith(b".") else line)
    return b"\r\n".join(out)


# ---------------------------------------------------------------- maildir

TRACE_FIELDS = ("return-path", "delivered-to", "x-original-to", "x-envelope-from", "x-envelope-to")


class Message:
    """One delivered file: trace fields, our Received field, and the content after it."""

    def __init__(self, path):
        self.path = Path(path)
        self.raw = self.path.read_bytes()
        self.trace = []        # [(name, value)] before (and including) our Received
        self.received = None   # the unfolded text of the first Received field
        self.content = self.raw
        pos = 0
        raw = self.raw
        while pos < len(raw):
            end = self._field_end(raw, pos)
            field = raw[pos:end]
            name = field.split(b":", 1)[0].decode("latin-1").strip().lower()
            value = field.split(b":", 1)[1].decode("utf-8", "replace") if b":" in field else ""
            value = re.sub(r"\s+", " ", value).strip()
            if name == "received":
                self.received = "Received: " + value
                self.trace.append(("Received", value))
                self.content = raw[end:]
                break
            if name in TRACE_FIELDS:
                self.trace.append((name, value))
                pos = end
                continue
            break   # not a trace field and no Received: content starts here
        self.crlf = self._crlf_convention()

    @staticmethod
    def _field_end(raw, pos):
        """End of the header field starting at pos (continuation lines start with SP/HT)."""
        end = pos
        while True:
            nl = raw.find(b"\n", end)
            if nl < 0:
                return len(raw)
            end = nl + 1
            if end >= len(raw) or raw[end:end + 1] not in (b" ", b"\t"):
                return end

    def _crlf_convention(self):
        head = self.raw[:self.raw.find(b"\n") + 1] if b"\n" in self.raw else b""
        return head.endswith(b"\r\n") or not head

    def stored_form(self, content: bytes) -> bytes:
        """content (CRLF line ends, as sent, unstuffed) in this file's line-end convention."""
        return content if self.crlf else content.replace(b"\r\n", b"\n")

    def fields(self, name):
        return [v for n, v in self.trace if n.lower() == name.lower()]


class Maildir:
    def __init__(self, path):
        self.path = Path(path)

    def new_files(self):
        d = self.path / "new"
        return sorted((p for p in d.iterdir() if p.is_file()), key=lambda p: p.name) if d.is_dir() else []

    def tmp_files(self):
        d = self.path / "tmp"
        return [p for p in d.iterdir() if p.is_file()] if d.is_dir() else []

    def messages(self):
        return [Message(p) for p in self.new_files()]

    def count(self):
        return len(self.new_files())


# ---------------------------------------------------------------- test case base

class E2ETestCase(unittest.TestCase):
    """Base class: start_daemon() gives a daemon stopped and checked at the end of the test;
    client() gives a connection closed before that. On failure the daemon's stderr is printed."""

    maxDiff = 4000

    def run(self, result=None):
        self._daemons = []
        if result is None:
            return super().run(result)
        before = len(result.failures) + len(result.errors)
        try:
            return super().run(result)
        finally:
            if len(result.failures) + len(result.errors) > before:
                for d in self._daemons:
                    sys.stderr.write(f"\n[{self.id()}] config {d.config_dir}\n{d.stderr_tail(120)}\n")
            for d in self._daemons:
                d.kill()
                d.cleanup()

    def start_daemon(self, plugins=None, files=None, settings=None, wait=True, check_exit=True, **kw):
        d = Daemon(plugins=plugins, files=files, settings=settings, **kw)
        self._daemons.append(d)
        self.addCleanup(self._finish, d, check_exit)
        d.start(wait=wait)
        return d

    def _finish(self, d, check_exit):
        d.stop()
        if check_exit:
            d.check_clean_exit()

    def client(self, d, greet=True, timeout=TIMEOUT):
        c = Client(d.port, timeout=timeout, greet=greet)
        self.addCleanup(c.close)
        return c

    def assertClosed(self, c, timeout=TIMEOUT):
        if not c.wait_closed(timeout):
            c.fail(f"connection still open after {timeout}s")

    def assertDelivered(self, d, count):
        n = d.maildir.count()
        if n != count:
            self.fail(f"{n} messages in maildir new/, expected {count}: "
                      f"{[p.name for p in d.maildir.new_files()]}")
        return d.maildir.messages()

    def assertEscMatches(self, reply):
        """The reply carries an enhanced status code whose class is the code's first digit."""
        esc = reply.esc
        self.assertIsNotNone(esc, f"no enhanced status code in {reply.raw!r}")
        self.assertEqual(esc[0], str(reply.code)[0], f"enhanced code class mismatch in {reply.raw!r}")

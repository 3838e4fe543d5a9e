"""milter_support.py - a scriptable test milter written with python3-milter (Debian's pymilter,
libmilter underneath: the real protocol, not a stand-in), for the milter plugin's tests.

TestMilter(name).start() writes the filter to a temporary directory, runs it with Debian's
python3 on inet:PORT@127.0.0.1 and waits until it listens; stop() ends it by pid. Every
callback appends one JSON line to events.jsonl (what it was given and the macros it saw), so
a test reads what asmtpd sent with events().

What the filter does is chosen by the message, so one filter covers every action:
- MAIL FROM <sleep@...>: envfrom sleeps SLEEP seconds (a filter that misses its deadline);
- RCPT TO <reject-...@...>: REJECT for that recipient; <code-...@...>: 550 5.1.1 two lines;
- MAIL FROM <discard@...>: DISCARD at MAIL; <tempfail@...>: TEMPFAIL at MAIL;
- words in the Subject, at end of message: ADDHDR, CHGHDR (Subject), INSHDR (at 0), DELHDR
  (X-Remove-Me), ADDRCPT (added@example.com), ADDRCPTPAR, DELRCPT (deleted@example.com),
  CHGFROM (changed@example.org), REPLBODY, QUARANTINE, DISCARD, REJECT, TEMPFAIL, REPLYCODE
  (451 4.7.0 one line), MULTILINE (550 5.7.1 three lines), PROGRESS (progress, then a pause
  past the content timeout's half), SLEEPEOM (sleeps SLEEP s at end of message).
- every message gets "X-Milter-<name>: seen" (addheader), so two filters show their order.
Owner: e2e tests of the milter plugin (issue 13).
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import json
from pathlib import Path

from daemon_process import free_port

START_TIMEOUT = 15.0

FILTER = r'''
import itertools, json, sys, time
import Milter

CONNECTIONS = itertools.count(1)

NAME, PORT, LOG, SLEEP = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
MACROS = ["j", "{daemon_name}", "v", "_", "{client_addr}", "{client_name}", "{client_port}", "i",
          "{mail_addr}", "{rcpt_addr}", "{auth_authen}", "{tls_version}"]

def log(filt, **kw):
    kw["cid"] = filt.cid   # one Filter per milter connection
    with open(LOG, "a") as f:
        f.write(json.dumps(kw) + "\n")

class Filter(Milter.Base):
    def __init__(self):
        self.cid = next(CONNECTIONS)
        self.subject = ""
        self.headers = []
        self.content = b""

    def macros(self):
        out = {}
        for m in MACROS:
            v = self.getsymval(m)
            if v is not None:
                out[m] = v
        return out

    def connect(self, hostname, family, hostaddr):
        log(self, ev="connect", host=hostname, addr=list(hostaddr) if hostaddr else None, macros=self.macros())
        return Milter.CONTINUE

    def hello(self, heloname):
        log(self, ev="helo", helo=heloname, macros=self.macros())
        return Milter.CONTINUE

    def envfrom(self, f, *params):
        self.sender = f
        self.subject = ""
        self.headers = []
        self.content = b""
        log(self, ev="mail", addr=f, params=list(params), macros=self.macros())
        if f.startswith("<sleep@"):
            time.sleep(SLEEP)
        if f.startswith("<discard@"):
            return Milter.DISCARD
        if f.startswith("<tempfail@"):
            return Milter.TEMPFAIL
        return Milter.CONTINUE

    def envrcpt(self, to, *params):
        log(self, ev="rcpt", addr=to, macros=self.macros())
        if to.startswith("<reject-"):
            return Milter.REJECT
        if to.startswith("<code-"):
            self.setreply("550", "5.1.1", "no such user", "really not here")
            return Milter.REJECT
        return Milter.CONTINUE

    def data(self):
        log(self, ev="data", macros=self.macros())
        return Milter.CONTINUE

    def header(self, name, value):
        self.headers.append([name, value])
        if name.lower() == "subject":
            self.subject = value
        return Milter.CONTINUE

    def eoh(self):
        log(self, ev="eoh", headers=self.headers)
        return Milter.CONTINUE

    def body(self, chunk):
        self.content += chunk
        return Milter.CONTINUE

    def eom(self):
        s = self.subject
        log(self, ev="eom", body=self.content.decode("latin-1"), macros=self.macros())
        self.addheader("X-Milter-" + NAME, "seen")
        if "SLEEPEOM" in s:
            time.sleep(SLEEP)
        if "PROGRESS" in s:
            for _ in range(4):
                self.progress()
                time.sleep(SLEEP / 4)
        if "ADDHDR" in s:
            self.addheader("X-Added", "added by " + NAME)
        if "CHGHDR" in s:
            self.chgheader("Subject", 1, "changed subject")
        if "INSHDR" in s:
            self.addheader("X-Inserted", "at the top", 0)
        if "DELHDR" in s:
            self.chgheader("X-Remove-Me", 1, "")
        if "ADDRCPTPAR" in s:
            self.addrcpt("<addedpar@example.com>", "NOTIFY=NEVER")
        elif "ADDRCPT" in s:
            self.addrcpt("<added@example.com>")
        if "DELRCPT" in s:
            self.delrcpt("<deleted@example.com>")
        if "CHGFROM" in s:
            self.chgfrom("<changed@example.org>")
        if "REPLBODY" in s:
            self.replacebody(b"replaced body line 1\r\n")
            self.replacebody(b"replaced body line 2\r\n")
        if "QUARANTINE" in s:
            self.quarantine("held by the test milter")
        if "DISCARD" in s:
            return Milter.DISCARD
        if "REJECT" in s:
            return Milter.REJECT
        if "TEMPFAIL" in s:
            return Milter.TEMPFAIL
        if "REPLYCODE" in s:
            self.setreply("451", "4.7.0", "come back later")
            return Milter.TEMPFAIL
        if "MULTILINE" in s:
            self.setreply("550", "5.7.1", "first line", "second line", "third line")
            return Milter.REJECT
        if "EOMCONTINUE" in s:
            return Milter.CONTINUE   # libmilter stays in its end-of-message state: QUIT_NC allowed
        return Milter.ACCEPT

    def abort(self):
        log(self, ev="abort")
        return Milter.CONTINUE

    def close(self):
        log(self, ev="close")
        return Milter.CONTINUE

Milter.factory = Filter
Milter.set_flags(Milter.ADDHDRS | Milter.CHGHDRS | Milter.ADDRCPT | Milter.DELRCPT | Milter.CHGFROM |
                 Milter.CHGBODY | Milter.QUARANTINE | getattr(Milter, "ADDRCPT_PAR", 0x80))
print("listening", flush=True)
Milter.runmilter(NAME, PORT if PORT.startswith("unix:") else "inet:%s@127.0.0.1" % PORT, 240)
'''

# The load (k) benchmark's filter: accepts everything, answers nothing it need not (NR_* and NO*
# flags through pymilter's decorators), one process for every connection (threads).
ACCEPT_ALL = r'''
import sys
import Milter

class AcceptAll(Milter.Base):
    @Milter.noreply
    def connect(self, hostname, family, hostaddr): return Milter.CONTINUE
    @Milter.noreply
    def hello(self, heloname): return Milter.CONTINUE
    @Milter.noreply
    def envfrom(self, f, *params): return Milter.CONTINUE
    @Milter.noreply
    def envrcpt(self, to, *params): return Milter.CONTINUE
    @Milter.nocallback
    def data(self): return Milter.CONTINUE
    @Milter.nocallback
    def header(self, name, value): return Milter.CONTINUE
    @Milter.nocallback
    def eoh(self): return Milter.CONTINUE
    @Milter.nocallback
    def body(self, chunk): return Milter.CONTINUE
    def eom(self): return Milter.ACCEPT

Milter.factory = AcceptAll
Milter.set_flags(0)
print("listening", flush=True)
Milter.runmilter("acceptall", sys.argv[1], 240)
'''


class SharedTestMilter:
    """Mixin for a test class: one test milter ("one", 3 s sleeps) for the whole class, its
    event log cleared before each test."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.milter = TestMilter("one", sleep=3.0).start()

    @classmethod
    def tearDownClass(cls):
        cls.milter.cleanup()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.milter.clear()


def milter_unavailable():
    """None when Debian's python3-milter can be imported, else why the tests are skipped."""
    r = subprocess.run(["/usr/bin/python3", "-c", "import Milter"], capture_output=True)
    return None if r.returncode == 0 else "python3-milter is not installed (scripts/bootstrap installs it)"


class TestMilter:
    def __init__(self, name="test", sleep=3.0, script=FILTER, unix=False):
        self.name = name
        self.unix = unix
        self.sleep = sleep
        self.dir = Path(tempfile.mkdtemp(prefix="asmtpd-milter-"))
        self.port = free_port()
        self.script = script
        self.proc = None

    @property
    def socket(self):
        return f"unix:{self.dir / 'milter.sock'}" if self.unix else f"inet:{self.port}@127.0.0.1"

    def start(self):
        path = self.dir / "filter.py"
        path.write_text(self.script)
        self._out = open(self.dir / "filter.log", "wb")
        args = ["/usr/bin/python3", str(path)]
        args += [self.name, self.socket if self.unix else str(self.port), str(self.dir / "events.jsonl"),
                 str(self.sleep)] \
            if self.script is FILTER else [self.socket]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self._out, stderr=self._out)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"the test milter exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if self.unix:
                    with socket.socket(socket.AF_UNIX) as u:
                        u.connect(str(self.dir / "milter.sock"))
                else:
                    socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise AssertionError(f"the test milter did not listen on {self.port}:\n{self.log()}")
                time.sleep(0.05)

    def log(self):
        try:
            return (self.dir / "filter.log").read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def events(self, kind=None):
        try:
            lines = (self.dir / "events.jsonl").read_text().splitlines()
        except FileNotFoundError:
            return []
        out = [json.loads(line) for line in lines if line.strip()]
        return [e for e in out if kind is None or e["ev"] == kind]

    def wait_events(self, kind, count, timeout=10.0, cid=None):
        """Events of a kind once there are `count` of them (of milter connection `cid` if given:
        other sessions, such as the harness's readiness probe, have milter connections too)."""
        def matching():
            return [e for e in self.events(kind) if cid is None or e.get("cid") == cid]
        deadline = time.monotonic() + timeout
        while len(matching()) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return matching()

    def clear(self):
        try:
            (self.dir / "events.jsonl").unlink()
        except FileNotFoundError:
            pass

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        if self.proc:
            self._out.close()
        self.proc = None

    def cleanup(self):
        self.stop()
        for p in sorted(self.dir.rglob("*"), reverse=True):
            p.unlink() if not p.is_dir() or p.is_symlink() else p.rmdir()
        self.dir.rmdir()


if __name__ == "__main__":   # run the accept-all filter by hand: milter_support.py inet:PORT@HOST
    m = TestMilter("acceptall", script=ACCEPT_ALL)
    m.port = int(sys.argv[1].split(":")[1].split("@")[0])
    m.start()
    print(m.proc.pid)

"""test_fault_run.py - issue 4's fault run: zero loss while the next hop is SIGKILLed every ~2 s.

asmtpd (rcpt_ok + queue/smtp_forward) hands mail to Postfix's smtp-sink, which dumps every
transaction to a file. 50 client threads send N messages (ASMTPD_FAULT_MESSAGES, default 5000),
each with a unique Message-ID, while another thread SIGKILLs smtp-sink by pid and restarts it on
the same port. The oracle (RELIABILITY P1): every Message-ID our client saw 250 for is complete in
a dump file; duplicates downstream are allowed and reported; the faults must really have refused
some messages, and most must still get through. Client replies are only recorded, never retried.
Never signals a process it did not start; every peer is stopped by its pid.
Owner: fault run (issue 4).
"""

import os
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import threading
import time
import unittest
from collections import Counter
from pathlib import Path

from harness import E2ETestCase, free_port
from postfix_support import smtp_sink

# 5000 messages take about 6-13 s with the ASan daemon on a busy 2-core box (3-6 kills), well
# inside CI's budget, so CI runs the full count.
MESSAGES = int(os.environ.get("ASMTPD_FAULT_MESSAGES", "5000"))
CLIENTS = 50
FIRST_KILL = 0.5        # so that even a short run (a small ASMTPD_FAULT_MESSAGES) meets a fault
UP_SECONDS = 2.0        # then the next hop lives this long between kills
DOWN_SECONDS = 0.3      # and stays dead this long
MID_RX = re.compile(rb"^Message-ID: <(fault-[^>]+)>\r?$", re.M | re.I)


class FlappingSink:
    """smtp-sink on one fixed loopback port, restartable; all dumps go to one directory."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="asmtpd-fault-"))
        os.chmod(self.dir, 0o777)          # smtp-sink drops to nobody when run as root
        self.port = free_port()
        self.proc = None
        self.err = open(self.dir / "stderr.log", "ab")
        self.starts = 0

    @property
    def hop(self):
        return f"127.0.0.1:{self.port}"

    def start(self):
        program, self.env = smtp_sink()
        argv = [program]
        if os.geteuid() == 0:
            argv += ["-u", "nobody"]
        argv += ["-d", str(self.dir / "dump."), f"127.0.0.1:{self.port}", "256"]
        # The port can stay busy for a moment after a SIGKILL; try again rather than fail.
        for _ in range(50):
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.err, stderr=self.err, env=self.env)
            if self._wait_listening(5.0):
                self.starts += 1
                return
            self.kill()
            time.sleep(0.1)
        raise AssertionError(f"smtp-sink would not listen on {self.port} again")

    def _wait_listening(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return True
            except OSError:
                time.sleep(0.01)
        return False

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self):
        self.kill()
        self.err.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def complete_copies(self):
        """Counter of Message-ID -> dump files holding the whole message (its last body line
        too), so a transaction cut by a kill never counts as delivered."""
        copies = Counter()
        for p in self.dir.glob("dump.*"):
            raw = p.read_bytes()
            m = MID_RX.search(raw)
            if m and (b"\nend-of " + m.group(1) + b"\n") in raw.replace(b"\r\n", b"\n"):
                copies[m.group(1).decode()] += 1
        return copies


class Flapper(threading.Thread):
    """Kills the sink (SIGKILL by pid) after FIRST_KILL, then every UP_SECONDS; starts it again
    DOWN_SECONDS after each kill."""

    def __init__(self, sink):
        super().__init__(daemon=True)
        self.sink = sink
        self.halt = threading.Event()
        self.kills = 0
        self.error = None

    def run(self):
        try:
            wait = FIRST_KILL
            while not self.halt.wait(wait):
                wait = UP_SECONDS
                self.sink.kill()
                self.kills += 1
                time.sleep(DOWN_SECONDS)
                self.sink.start()
        except Exception as e:          # reported by the test, not lost in a thread
            self.error = e


def message(mid, i):
    return (f"Message-ID: <{mid}>\r\nFrom: <s@example.test>\r\nTo: <a@example.test>\r\n"
            f"Subject: fault run {i}\r\n\r\nbody of message {i}\r\n.leading dot\r\n"
            f"end-of {mid}\r\n").encode()


class Sender(threading.Thread):
    """One client connection at a time (a new one after a 421 or an error), messages taken
    from a shared counter; records the final outcome of each: an int reply code or "error"."""

    def __init__(self, port, tag, next_index, outcomes):
        super().__init__(daemon=True)
        self.port, self.tag, self.next_index, self.outcomes = port, tag, next_index, outcomes
        self.smtp = None

    def run(self):
        while True:
            i = self.next_index()
            if i is None:
                break
            mid = f"fault-{self.tag}-{i}@e2e.test"
            self.outcomes[mid] = self.send_one(mid, i)
        self.drop(quit=True)

    def drop(self, quit=False):
        if self.smtp is None:
            return
        try:
            if quit:
                self.smtp.quit()
            else:
                self.smtp.close()
        except (smtplib.SMTPException, OSError):
            self.smtp.close()
        self.smtp = None

    def send_one(self, mid, i):
        try:
            if self.smtp is None:
                self.smtp = smtplib.SMTP("127.0.0.1", self.port, local_hostname="client.e2e.test", timeout=30)
                self.smtp.ehlo()
            s = self.smtp
            code, _ = s.mail("s@example.test")
            if code != 250:
                s.rset()
                return code
            code, _ = s.rcpt("a@example.test")
            if code != 250:
                s.rset()
                return code
            code, _ = s.data(message(mid, i))
            if code == 421:
                self.drop()
            return code
        except smtplib.SMTPResponseException as e:      # DATA refused before 354
            if e.smtp_code == 421:
                self.drop()
            return e.smtp_code
        except (smtplib.SMTPException, OSError):
            self.drop()
            return "error"


class FaultRunTest(E2ETestCase):

    def test_no_accepted_message_is_lost_while_the_next_hop_flaps(self):
        sink = FlappingSink()
        self.addCleanup(sink.stop)
        sink.start()
        d = self.start_daemon(
            plugins=["rcpt_ok", f"queue/smtp_forward {sink.hop} timeout 10 connect_timeout 3"],
            settings={"log_level": "info",
                      "limits": {"max_connections_per_ip": 10 * CLIENTS, "max_errors": 1_000_000}})

        tag = f"{os.getpid()}-{time.monotonic_ns()}"
        lock = threading.Lock()
        counter = iter(range(MESSAGES))

        def next_index():
            with lock:
                return next(counter, None)

        outcomes = {}
        flapper = Flapper(sink)
        senders = [Sender(d.port, tag, next_index, outcomes) for _ in range(CLIENTS)]
        t0 = time.monotonic()
        flapper.start()
        for s in senders:
            s.start()
        for s in senders:
            s.join(timeout=600)
            self.assertFalse(s.is_alive(), "a client thread hung")
        flapper.halt.set()
        flapper.join(timeout=30)
        seconds = time.monotonic() - t0
        self.assertIsNone(flapper.error, f"restarting smtp-sink failed: {flapper.error}")
        if sink.proc.poll() is not None:
            sink.start()     # only so the daemon's pool has someone to say QUIT to; not required

        copies = sink.complete_copies()
        accepted = [m for m, r in outcomes.items() if r == 250]
        refused = [m for m, r in outcomes.items() if r != 250]
        lost = sorted(m for m in accepted if copies[m] == 0)
        duplicates = sum(n - 1 for n in copies.values() if n > 1)
        unconfirmed = sum(1 for m in refused if copies[m] > 0)
        stray = sorted(m for m in copies if m not in outcomes)
        kinds = Counter(str(r) for r in outcomes.values())
        print(f"\nfault run: {len(outcomes)} sent, {len(accepted)} accepted, {len(refused)} refused, "
              f"{len(lost)} lost, {duplicates} duplicates")
        print(f"fault run details: {seconds:.1f} s, {flapper.kills} kills, replies {dict(sorted(kinds.items()))}, "
              f"{unconfirmed} refused yet delivered (the dot went out before the kill)")

        self.assertEqual(len(outcomes), MESSAGES, "every message has an outcome")
        self.assertEqual(lost, [], f"{len(lost)} messages got 250 but are not at the next hop: {lost[:10]}")
        self.assertEqual(stray, [], "the next hop holds Message-IDs nobody sent")
        self.assertGreaterEqual(flapper.kills, 1, "the run ended before the first kill")
        self.assertGreater(len(refused), 0, "no message was refused: the faults did not bite")
        self.assertGreater(len(accepted), MESSAGES // 2, f"most messages should get through: {kinds}")
        # A dead next hop is a temporary failure (451), never a 5xx bounce of good mail.
        hard = {k: n for k, n in kinds.items() if k.startswith("5")}
        self.assertEqual(hard, {}, "permanent refusals while the next hop flapped")


if __name__ == "__main__":
    unittest.main()

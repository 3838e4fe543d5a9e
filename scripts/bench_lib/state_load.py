# state_load.py - load (m)'s servers (issue 14): load (b) (1 KB, a connection per message, 50
# sessions, smtp-source from 127.0.0.1, no PROXY) through the plugins that keep state - karma,
# limit and greylisting (the triplet already white) - on a real redis-server and on the embedded
# LMDB store, against load (b)'s own configuration of asmtpd in the same run.
#   asmtpd-m-redis     karma reject connect, limit (concurrency, rate_conn, rate_rcpt_host,
#                      rate_rcpt_sender, rate_rcpt, recipients), greylisting sender 1 recipient 1
#                      black_timeout 1, rcpt_ok, queue/discard; state.backend redis on a
#                      redis-server this load starts on 127.0.0.1 (nothing saved), stopped by pid
#   asmtpd-m-embedded  the same plugins, state.backend embedded (LMDB in the spool dir, wiped first)
#   asmtpd-b           load (b)'s configuration: rcpt_ok, queue/discard
# Every limit is far above what the load reaches: the checks are made and pass. The triplet
# (127.0.0.0 | bench@client.localhost | rcpt@bench.test, smtp-source's) is made white by a real
# pass at start-up: its first RCPT must be deferred (450) and its retry after black_timeout
# accepted. Then, still at start-up and at log_level debug, VERIFY_MSGS messages go through and
# the log must show each of them white in greylisting, counted by karma at disconnect, and
# checked by every limit section; then log_level goes to warn (SIGHUP) for the warm-up and the
# measured runs. At stop the store's own counters (`state (BACKEND): N batches, N ops, N round
# trips ...`, logged at exit) give batches and round trips per message over every message the
# daemon took; fewer than STORE_BATCHES_PER_MSG batches per message fails the load, so a
# benchmark that skipped the plugins never shows as a number. Each run also reports
# redis-server's CPU and commands per message (INFO's total_commands_processed).
# Owner: tooling (scripts/bench_lib/).
import os
import re
import signal
import smtplib
import sys
import time

import loads as L
import procs
import servers as S

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                                "t", "e2e"))
import redis_support  # noqa: E402

BIG = 1000000                 # every limit: far above the load (one client IP sends everything)
BLACK_TIMEOUT = 1             # the seeding pass waits this long (the triplet then stays white)
VERIFY_MSGS = 100
SENDER, RCPT = "bench@client.localhost", "rcpt@bench.test"     # smtp-source's, loads.smtp_source_argv
TRIPLET = f"greylist:127.0.0.0/24|{SENDER}|{RCPT}"
# karma connect + disconnect, limit connect + rcpt + disconnect, greylisting rcpt
STORE_BATCHES_PER_MSG = 6
PLUGINS = [
    "karma reject connect",
    f"limit concurrency 100 rate_conn {BIG}/1m rate_rcpt_host {BIG}/1m rate_rcpt_sender {BIG}/1m "
    f"rate_rcpt {BIG}/1m recipients 20",
    f"greylisting sender 1 recipient 1 black_timeout {BLACK_TIMEOUT}",
]
# What the debug log must show for each verified message: (line, times a message).
VERIFY_LINES = {
    "greylisting white": (re.compile(re.escape(f"greylisting: {TRIPLET}: white, pass")), 1),
    "karma counted": (re.compile(r"karma: (nice|neutral|naughty) \(msg: "), 1),
    "limit concurrency": (re.compile(r"limit: concurrency \d+/100 "), 1),
    "limit rate_conn": (re.compile(r"limit: rate_conn \d+/%d " % BIG), 1),
    "limit rate_rcpt_host": (re.compile(r"limit: rate_rcpt_host \d+/%d " % BIG), 2),   # read at connect, +1 at rcpt
    "limit rate_rcpt_sender": (re.compile(r"limit: rate_rcpt_sender \d+/%d " % BIG), 1),
    "limit rate_rcpt": (re.compile(r"limit: rate_rcpt \d+/%d " % BIG), 1),
}
STATE_LINE = re.compile(r"state \((\w+)\): (\d+) batches, (\d+) ops, (\d+) round trips, (\d+) unavailable, "
                        r"(\d+) past their deadline")


class StateAsmtpd(S.Asmtpd):
    """asmtpd with karma, limit and greylisting on the given backend ("redis" or "embedded")."""

    def __init__(self, work, port, binary, backend, redis_port=None):
        super().__init__(work, port, binary, name=f"asmtpd-m-{backend}")
        self.backend, self.redis_port = backend, redis_port
        self.redis = None
        self.msgs_sent = 0          # every message smtp-source was asked to send (warm-up and runs)
        self.final = None           # (info, error) after stop

    def yaml(self, level):
        with open(os.path.join(self.cfg, "asmtpd.yaml")) as f:
            text = f.read()
        text = re.sub(r"(?m)^log_level: \w+$", f"log_level: {level}", text)
        text = re.sub(r"(?s)\nstate:\n.*", "\n", text).rstrip("\n") + "\n"
        if self.backend == "redis":
            text += (f"state:\n  backend: redis\n  address: 127.0.0.1:{self.redis_port}\n  prefix: \"bench:\"\n"
                     "  timeout: 1\n")
        else:
            text += "state:\n  backend: embedded\n  timeout: 1\n"
        S._write(os.path.join(self.cfg, "asmtpd.yaml"), text)

    def prepare(self):
        super().prepare()
        self.yaml("warn")
        S._write(os.path.join(self.cfg, "plugins"), "\n".join(PLUGINS + ["rcpt_ok", self.queue]) + "\n")
        for name in ("state.mdb", "state.mdb-lock"):   # a fresh store for every bench run
            try:
                os.unlink(os.path.join(self.cfg, "spool", name))
            except FileNotFoundError:
                pass

    def start(self, log_path, ready_timeout=60):
        self.msgs_sent, self.final = 0, None
        if self.backend == "redis":
            if not S.port_free(self.redis_port):
                raise RuntimeError(f"port 127.0.0.1:{self.redis_port} for redis-server is in use")
            self.redis = redis_support.RedisServer(self.redis_port).start()
        try:
            self.yaml("debug")
            super().start(log_path, ready_timeout)
            self.seed()
            self.verify()
            self.yaml("warn")
            os.kill(self.proc.pid, signal.SIGHUP)
            time.sleep(1.0)
        except Exception:
            self.stop()
            raise

    def smtp(self, expect_rcpt):
        with smtplib.SMTP("127.0.0.1", self.port, "client.localhost", timeout=10) as s:
            s.ehlo()
            code, text = s.mail(SENDER)
            if code != 250:
                raise RuntimeError(f"{self.name}: seeding: MAIL got {code} {text!r}")
            code, text = s.rcpt(RCPT)
            if code != expect_rcpt:
                raise RuntimeError(f"{self.name}: seeding: RCPT got {code} {text!r}, expected {expect_rcpt}")
            if code == 250:
                s.data(b"Subject: load m seed\r\n\r\nseed\r\n")

    def seed(self):
        """The triplet's first attempt is deferred; its retry after black_timeout turns it white."""
        self.smtp(450)
        time.sleep(BLACK_TIMEOUT + 1.1)    # the record keeps whole seconds
        self.smtp(250)
        self.msgs_sent += 2

    def verify(self):
        """VERIFY_MSGS messages at log_level debug: every plugin must have logged each of them."""
        with open(self.log_path, "rb") as f:
            f.seek(0, 2)
            offset = f.tell()
        r = L.run_smtp(self, VERIFY_MSGS, L.KB, 10, False, timeout=120)
        if not r["ok"]:
            raise RuntimeError(f"{self.name}: verification pass failed: {r['client_output'][-200:]}")
        time.sleep(0.5)
        with open(self.log_path, "rb") as f:
            f.seek(offset)
            text = f.read().decode(errors="replace")
        seen = {k: len(rx.findall(text)) for k, (rx, _) in VERIFY_LINES.items()}
        bad = {k: n for k, n in seen.items() if n != VERIFY_MSGS * VERIFY_LINES[k][1]}
        if bad:
            raise RuntimeError(f"{self.name}: the plugins did not see every message of the verification pass "
                               f"({VERIFY_MSGS} sent): " + ", ".join(f"{k} {n}" for k, n in bad.items()))
        self.verified = {k: VERIFY_MSGS for k in VERIFY_LINES}

    def load_argv(self, msgs, size, sessions, reuse):
        self.msgs_sent += msgs
        return L.smtp_source_argv(self.port, msgs, size, sessions, reuse)

    def run_counters(self):
        """Per run (loads.run_smtp): redis-server's CPU (us) and commands processed."""
        if self.redis is None:
            return {}
        info = self.redis.command("INFO", "stats").decode(errors="replace")
        m = re.search(r"total_commands_processed:(\d+)", info)
        return {"redis_cpu_us": procs.cpu_seconds([self.redis.proc.pid]) * 1e6,
                "redis_cmds": int(m.group(1)) if m else 0}

    def stop(self, timeout=20):
        """log_level info first (SIGHUP), so the store's counters reach the log at exit."""
        try:
            if self.proc is not None and self.proc.poll() is None:
                self.yaml("info")
                os.kill(self.proc.pid, signal.SIGHUP)
                time.sleep(1.0)
            super().stop(timeout)
            if self.log_path and self.msgs_sent:
                self.final = self.check_store()
        finally:
            if self.redis is not None:
                self.redis.cleanup()
                self.redis = None

    def check_store(self):
        """(info, error): the store's counters per message over every message sent."""
        try:
            with open(self.log_path, errors="replace") as f:
                hits = STATE_LINE.findall(f.read())
        except OSError as e:
            return {}, f"log unreadable: {e}"
        if not hits:
            return {}, "no 'state (...)' line in the log at exit: the plugins never used the store"
        backend, batches, ops, rts, unavail, late = hits[-1]
        n = self.msgs_sent
        info = {"store": {"backend": backend, "msgs": n, "batches": int(batches), "ops": int(ops),
                          "round_trips": int(rts), "unavailable": int(unavail), "past_deadline": int(late),
                          "batches_per_msg": round(int(batches) / n, 3), "ops_per_msg": round(int(ops) / n, 3),
                          "round_trips_per_msg": round(int(rts) / n, 3)},
                "verified": getattr(self, "verified", None)}
        if int(unavail) or int(late):
            return info, f"store: {unavail} batches unavailable, {late} past their deadline"
        if int(batches) < STORE_BATCHES_PER_MSG * n * 0.99:
            return info, (f"store: {batches} batches for {n} messages, expected {STORE_BATCHES_PER_MSG} a message:"
                          " the plugins skipped messages")
        return info, None

    def final_check(self):
        return self.final or ({}, "no store counters (the daemon never stopped cleanly)")

    def note(self):
        return f"karma + limit + greylisting (white) on {self.backend}" + \
            (f" (redis-server on 127.0.0.1:{self.redis_port})" if self.backend == "redis" else " (LMDB)")

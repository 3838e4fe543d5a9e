"""test_scale_out.py - docs/scale-out.md's deployment on loopback: three asmtpd instances behind
Debian's haproxy (TCP, PROXY v2, smtpchk health checks), all on one redis-server.

The haproxy.cfg and config/plugins are the `scale-out` blocks of docs/scale-out.md, with the
addresses replaced by loopback ports and the slow timers by short ones (each replacement is
asserted, so the page and the test cannot drift apart silently). Each instance has its own
config directory, spool and maildir, its own hostname (the greeting names the instance a session
reached) and a PROXY listener; the harness's plain listener is only its readiness probe.
Clients bind 127.0.0.7, .8, ... so each arrives at asmtpd with its own address in the PROXY v2
header. One deployment per class, its tests in order: the load run SIGKILLs one instance and the
last test stops Redis; each test also passes alone. Owner: tooling (t/e2e/), issue 14.
"""

import re
import shutil
import smtplib
import socket
import sys
import tempfile
import threading
import time
import unittest
from pathlib import Path

from harness import REPO, RUN_AS_YAML, Client, Daemon, E2ETestCase, free_port, run_asmtpd
from haproxy_support import Haproxy
from redis_support import RedisServer

DOC = REPO / "docs" / "scale-out.md"
BLACK = 1                      # greylisting's black_timeout here (the page says 300)
BAD = "spam@bad.test"
LOAD_CLIENT = "127.0.0.9"      # greylist_exclude: the load run is not greylisted
LOAD_MESSAGES = 240
LOAD_SESSIONS = 6              # concurrent sessions of the load run
PER_SESSION = 5                # messages per session before QUIT
PENALTY = "You were naughty."
CONCURRENCY = 5                # the page's `limit concurrency 5`


def doc_block(tag):
    """The fenced block of docs/scale-out.md whose info string is `TAG scale-out`."""
    m = re.search(r"^```" + tag + r" scale-out\n(.*?)^```$", DOC.read_text(), re.M | re.S)
    if not m:
        raise AssertionError(f"docs/scale-out.md has no ```{tag} scale-out block")
    return m.group(1)


def replace(text, old, new, count=1, regex=False):
    n = len(re.findall(old if regex else re.escape(old), text))
    if n != count:
        raise AssertionError(f"docs/scale-out.md changed: {old!r} found {n} times, expected {count}")
    return re.sub(old, new, text) if regex else text.replace(old, new)


def haproxy_config(port, backends):
    """The page's haproxy.cfg on loopback: frontend on port, servers mx1.. on the PROXY listeners."""
    cfg = doc_block("haproxy")
    cfg = replace(cfg, "maxconn 20000", "maxconn 1000")    # the fd limit of a container
    cfg = replace(cfg, "bind :25", f"bind 127.0.0.1:{port}")
    cfg = replace(cfg, "inter 2s fastinter 500ms downinter 5s", "inter 150ms fastinter 100ms downinter 150ms")
    cfg = replace(cfg, r"    server mx(\d) 10\.0\.0\.1\d:2525\n", "", count=len(backends), regex=True)
    return cfg + "".join(f"    server mx{i + 1} 127.0.0.1:{p}\n" for i, p in enumerate(backends))


def plugin_lines():
    text = doc_block("plugins")
    text = replace(text, "black_timeout 300", f"black_timeout {BLACK}")
    text = replace(text, f"limit concurrency {CONCURRENCY} rate_conn 30/1m",
                   f"limit concurrency {CONCURRENCY} rate_conn 1000/1m")
    text = replace(text, "queue/maildir /var/mail/asmtpd", "queue/maildir {maildir}")
    return [line for line in text.splitlines() if line.strip()]


def instance_settings(i, redis, proxy_port):
    """The page's asmtpd.yaml for instance i (mirrored: hostname, PROXY listener, trusted_proxies,
    state on the shared Redis)."""
    yaml = doc_block("yaml")
    for needle in ("proxy_protocol: true", "trusted_proxies:", "backend: redis", 'prefix: "asmtpd:"', "timeout: 1",
                   "concurrency: {'10.0.0.5': 0, '10.0.0.6': 0}", "rate_conn: {'10.0.0.5': 0, '10.0.0.6': 0}"):
        if needle not in yaml:
            raise AssertionError(f"docs/scale-out.md's asmtpd.yaml lost {needle!r}: update the test's mirror")
    return {"hostname": f"mx{i}.e2e.test", "log_level": "info", "trusted_proxies": ["127.0.0.1/32"],
            "timeouts": {"proxy": 5, "shutdown": 3},
            "state": {"backend": "redis", "address": redis.address, "prefix": "scaleout:", "timeout": 1},
            # haproxy's checks come from 127.0.0.1 (the page's 10.0.0.5/.6); the load client is exempt
            "limit": {section: {"127.0.0.1": 0, LOAD_CLIENT: 0} for section in ("concurrency", "rate_conn")},
            "extra_listen": {"address": "127.0.0.1", "port": proxy_port, "mode": "smtp", "proxy_protocol": True}}


def free_ports(n):
    return [free_port() for _ in range(n)]


class LoadRun:
    """LOAD_SESSIONS threads sending messages (smtplib, from LOAD_CLIENT, PER_SESSION per session)
    through haproxy, each with an X-Load-Token. The first half is available at once, the second
    after release(). A message without a 250 (session cut, refused) goes back to the queue, as a
    real client retries it. accepted: the tokens that got 250; sessions: (time, instance)."""

    def __init__(self, port, total):
        self.port = port
        self.todo = list(range(total // 2))
        self.held = list(range(total // 2, total))
        self.cond = threading.Condition()
        self.accepted, self.failures, self.sessions = set(), [], []
        self.attempts = 0
        self.threads = [threading.Thread(target=self.worker, daemon=True) for _ in range(LOAD_SESSIONS)]
        self.t0 = self.elapsed = None

    def start(self):
        self.t0 = time.monotonic()
        for t in self.threads:
            t.start()

    def release(self):
        with self.cond:
            self.todo += self.held
            self.held = []
            self.cond.notify_all()

    def join(self, timeout):
        end = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.0, end - time.monotonic()))
        self.elapsed = time.monotonic() - self.t0
        return not any(t.is_alive() for t in self.threads)

    def wait_accepted(self, n, timeout=30.0):
        with self.cond:
            return self.cond.wait_for(lambda: len(self.accepted) >= n, timeout)

    def next_token(self):
        """The next message to send; waits while only held ones are left; None when all are sent."""
        with self.cond:
            self.cond.wait_for(lambda: self.todo or not self.held, 30)
            return self.todo.pop(0) if self.todo else None

    def worker(self):
        while True:
            token = self.next_token()
            if token is None:
                return
            try:
                s = smtplib.SMTP(timeout=10, source_address=(LOAD_CLIENT, 0), local_hostname="load.e2e.test")
                try:
                    _, greeting = s.connect("127.0.0.1", self.port)
                    with self.cond:
                        self.sessions.append((time.monotonic(), int(greeting.split(b".")[0][2:]) - 1))
                    for n in range(PER_SESSION):
                        if n and (token := self.next_token()) is None:
                            break
                        with self.cond:
                            self.attempts += 1
                        body = f"Subject: load {token}\r\nX-Load-Token: {token}\r\n\r\nload run\r\n"
                        s.sendmail("load@sender.test", ["a@example.test"], body)
                        with self.cond:
                            self.accepted.add(token)
                            self.cond.notify_all()
                        token = None
                    s.quit()
                finally:
                    s.close()
            except (smtplib.SMTPException, OSError) as e:
                with self.cond:
                    self.failures.append(repr(e))
                    if token is not None:
                        self.todo.insert(0, token)
                        self.cond.notify_all()
                time.sleep(0.05)


class ScaleOutTest(E2ETestCase):
    INSTANCES = 3

    @classmethod
    def setUpClass(cls):
        cls.redis = RedisServer().start()
        cls.instances = []
        cls.haproxy = None
        try:
            ports = free_ports(cls.INSTANCES + 1)
            cls.front, backends = ports[0], ports[1:]
            for i, port in enumerate(backends, 1):
                s = instance_settings(i, cls.redis, port)
                extra = s.pop("extra_listen")
                d = Daemon(plugins=plugin_lines(), settings=s,
                           files={"badmailfrom": BAD + "\n", "greylist_exclude": LOAD_CLIENT + "\n"})
                d.settings["listen"] = [d.settings["listen"][0], extra]
                d.write_config()
                cls.instances.append(d)
                d.start()
            cls.haproxy = Haproxy(config=haproxy_config(cls.front, backends), port=cls.front).start()
            for i in range(1, cls.INSTANCES + 1):   # every server passed its first checks
                if not cls.wait_up(f"mx{i}"):
                    raise AssertionError("haproxy never saw mx%d up:\n%s" % (i, cls.haproxy.log_text()))
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def wait_up(cls, name, timeout=10.0):
        """A session through haproxy reached the server (its health checks passed)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for _ in range(cls.INSTANCES):
                c = Client.from_socket(socket.create_connection(("127.0.0.1", cls.front), timeout=5),
                                       cls.front, greet=True)
                c.cmd("QUIT", 221)
                c.close()
                if c.greeting.raw.startswith(f"220 {name}.".encode()):
                    return True
            time.sleep(0.1)
        return False

    @classmethod
    def tearDownClass(cls):
        if cls.haproxy:
            cls.haproxy.stop()
        problems = []
        for d in cls.instances:
            was_killed = d.killed
            d.stop()
            if not was_killed:
                try:
                    d.check_clean_exit()
                except AssertionError as e:
                    problems.append(str(e))
            d.cleanup()
        cls.redis.cleanup()
        if problems:
            raise AssertionError("\n".join(problems))

    def run(self, result=None):
        before = len(result.failures) + len(result.errors) if result else 0
        try:
            return super().run(result)
        finally:
            if result and len(result.failures) + len(result.errors) > before:
                for d in self.instances:
                    sys.stderr.write(f"\n[{self.id()}] {d.settings['hostname']}\n{d.stderr_tail(60)}\n")
                sys.stderr.write("---- haproxy ----\n" + "\n".join(self.haproxy.log_text().splitlines()[-40:]) + "\n")

    # ---------------------------------------------------------------- helpers

    def connect(self, source, greet=True):
        """A session through haproxy from source; returns (client, instance index or None)."""
        s = socket.socket()
        s.settimeout(10)
        s.bind((source, 0))
        s.connect(("127.0.0.1", self.front))
        c = Client.from_socket(s, self.front, timeout=10, greet=False)
        self.addCleanup(c.close)
        if not greet:
            return c, None
        c.greeting = c.expect(220)
        m = re.match(rb"220 mx(\d)\.", c.greeting.raw)
        self.assertIsNotNone(m, c.greeting.raw)
        return c, int(m.group(1)) - 1

    def connect_elsewhere(self, source, avoid):
        """Sessions from source until one reaches an instance not in avoid (leastconn rotates)."""
        for _ in range(3 * self.INSTANCES):
            c, i = self.connect(source)
            if i not in avoid:
                return c, i
            c.cmd("QUIT", 221)
        self.fail(f"haproxy sent every session to {avoid}")

    def alive(self):
        return [i for i, d in enumerate(self.instances) if d.running()]

    def count_log(self, i, pattern):
        return len(re.findall(pattern, self.instances[i].stderr_text()))

    def naughty_session(self, source):
        """One refused MAIL through haproxy: karma's default strikes 1 / negative 1 send source to
        the penalty box. Returns the instance that recorded it."""
        c, i = self.connect(source)
        c.ehlo()
        c.cmd(f"MAIL FROM:<{BAD}>", 550)
        c.cmd("QUIT", 221)
        rx = r"karma: naughty, sent to penalty box for 1\.00 days"
        self.assertTrue(self.instances[i].wait_for_log(rx), f"mx{i + 1} recorded no penalty")
        return i

    def refused_everywhere(self, source, first, deadline=10.0):
        """Connections from source until every other live instance refused one with karma's 554
        (an instance whose Redis connection is in its backoff still accepts: try again)."""
        want = set(self.alive()) - {first}
        seen = set()
        before = {i: self.count_log(i, r"karma: fail, in the penalty box") for i in want}
        end = time.monotonic() + deadline
        while seen != want and time.monotonic() < end:
            c, _ = self.connect(source, greet=False)
            r = c.read_reply()
            if r.code == 554:
                self.assertIn(PENALTY, r.text)
                self.assertEqual(r.esc, "5.7.1")
            else:
                c.cmd("QUIT", 221)
            c.close()
            time.sleep(0.05)
            seen = {i for i in want if self.count_log(i, r"karma: fail, in the penalty box") > before[i]}
        self.assertEqual(seen, want, f"instances that refused {source}: {sorted(seen)}, expected {sorted(want)}")

    # ---------------------------------------------------------------- the page's files

    def test_0_documented_asmtpd_yaml_and_plugins_pass_check(self):
        # The asmtpd.yaml the instances mirror, as the page writes it (--check binds nothing),
        # with the page's plugins, is a valid configuration.
        tmp = Path(tempfile.mkdtemp(prefix="asmtpd-e2e-scaleout-check-"))
        self.addCleanup(shutil.rmtree, tmp, True)
        (tmp / "asmtpd.yaml").write_text(doc_block("yaml") + RUN_AS_YAML)
        (tmp / "plugins").write_text(doc_block("plugins").replace("/var/mail/asmtpd", str(tmp / "mail")))
        r = run_asmtpd(["--config", str(tmp), "--check"])
        out = (r.stdout + r.stderr).decode(errors="replace")
        self.assertEqual(r.returncode, 0, out)
        self.assertIn("configuration OK", out)

    # ---------------------------------------------------------------- (a) greylisting

    def test_1_greylisted_triplet_passes_on_another_instance(self):
        sender = "grey@sender.test"
        c, first = self.connect("127.0.0.7")
        c.ehlo()
        c.cmd(f"MAIL FROM:<{sender}>", 250)
        c.cmd("RCPT TO:<a@example.test>", 450, "4.7.1")
        c.cmd("QUIT", 221)
        time.sleep(BLACK + 0.2)
        c, other = self.connect_elsewhere("127.0.0.7", {first})
        c.ehlo()
        r = c.send_mail(sender=sender, body=b"Subject: greylisted on one, passed on another\r\n\r\nx\r\n")
        self.assertEqual(r.code, 250, r.raw)
        c.cmd("QUIT", 221)
        self.assertEqual(self.instances[other].maildir.count(), 1)
        self.assertIn("[127.0.0.7]", self.instances[other].maildir.messages()[0].received)
        self.assertRegex(self.instances[first].stderr_text(), r"greylisting: .*grey@sender\.test.*: new")
        self.assertRegex(self.instances[other].stderr_text(), r"greylisting: .*grey@sender\.test.*, pass")

    # ---------------------------------------------------------------- (b) karma

    def test_2_karma_penalty_box_seen_by_every_instance(self):
        first = self.naughty_session("127.0.0.8")
        self.refused_everywhere("127.0.0.8", first)
        # Another client behind the same haproxy is not in the box.
        c, _ = self.connect("127.0.0.10")
        c.cmd("QUIT", 221)

    # ---------------------------------------------------------------- (c) load run and SIGKILL

    def test_3_load_run_survives_sigkill_of_an_instance(self):
        victim = self.INSTANCES - 1
        run = LoadRun(self.front, LOAD_MESSAGES)
        run.start()
        # Killed while sessions are open on every instance (a worker keeps its session while it
        # waits for the second half); the second half is released once haproxy marked it down.
        self.assertTrue(run.wait_accepted(LOAD_MESSAGES // 3), f"the load run stalled: {run.failures[:5]}")
        self.instances[victim].kill()       # SIGKILL to our child, by its pid; reaped
        killed_at = time.monotonic()
        self.assertTrue(self.haproxy.wait_for_log(f"Server asmtpd/mx{victim + 1} is DOWN"),
                        "haproxy did not mark the killed instance down")
        down_at = time.monotonic()
        run.release()
        self.assertTrue(run.join(60), "the load run did not finish")

        found = {}
        for i, d in enumerate(self.instances):
            for m in d.maildir.messages():
                tok = re.search(rb"X-Load-Token: (\d+)", m.content)
                if tok:
                    found.setdefault(int(tok.group(1)), []).append(i)
        missing = sorted(run.accepted - set(found))
        print(f"\n  load run: {LOAD_MESSAGES} messages, {run.attempts} attempts, {len(run.accepted)} got 250, "
              f"{len(found)} found in the maildirs ({sum(len(v) for v in found.values())} files: "
              f"{'/'.join(str(sum(v.count(i) for v in found.values())) for i in range(self.INSTANCES))}), "
              f"{len(run.failures)} sessions cut or refused, {len(run.sessions)} sessions "
              f"({len(re.findall(r'/[+][1-9][0-9]* ', self.haproxy.log_text()))} redispatched by haproxy), "
              f"mx{victim + 1} down {down_at - killed_at:.2f}s after SIGKILL, {run.elapsed:.1f}s")
        self.assertEqual(missing, [], "messages that got 250 are in no maildir")
        self.assertEqual(len(run.accepted), LOAD_MESSAGES, f"not every message was accepted: {run.failures[:5]}")
        # Only the sessions open on the victim when it died were cut (at most one per client
        # thread); a connection haproxy sent there afterwards was redispatched, never refused.
        self.assertLessEqual(len(run.failures), LOAD_SESSIONS, run.failures)
        before = {i for t, i in run.sessions if t < killed_at}
        after = [i for t, i in run.sessions if t > down_at]
        self.assertEqual(before, set(range(self.INSTANCES)), "not every instance took sessions before the kill")
        self.assertTrue(after, "no session after the instance was marked down")
        self.assertNotIn(victim, after, "haproxy sent sessions to the dead instance")

    # ---------------------------------------------------------------- (d) Redis down

    def test_4_redis_down_fail_mode_and_recovery(self):
        self.redis.stop()
        try:
            # Greylisting accepts a new triplet, karma accepts and records nothing.
            for n, source in enumerate(("127.0.0.11", "127.0.0.12")):
                c, i = self.connect(source)
                c.ehlo()
                r = c.send_mail(sender=f"down{n}@sender.test", body=b"Subject: redis down\r\n\r\nx\r\n")
                self.assertEqual(r.code, 250, r.raw)
                c.cmd("QUIT", 221)
                self.assertTrue(self.instances[i].wait_for_log(
                    r"greylisting: state store unavailable: .*; accepting \(on_error accept\)"))
                self.assertTrue(self.instances[i].wait_for_log(
                    r"karma: state store unavailable: .*; accepting, the session is not recorded"))
            # A naughty session is not remembered: the client is not refused anywhere afterwards.
            c, i = self.connect("127.0.0.13")
            c.ehlo()
            c.cmd(f"MAIL FROM:<{BAD}>", 550)
            c.cmd("QUIT", 221)
        finally:
            marks = {i: len(self.instances[i].stderr_text()) for i in self.alive()}
            self.redis.start()
        # Back: within the reconnect backoff (at most 5 s) every instance uses Redis again; the
        # health checks' sessions (karma looks up the proxy's own address) show when.
        restarted, deadline = time.monotonic(), time.monotonic() + 10
        while True:
            back = {i for i, mark in marks.items()
                    if re.search(r"karma: pass", self.instances[i].stderr_text()[mark:])}
            if back == set(marks):
                break
            self.assertLess(time.monotonic(), deadline, f"instances back on Redis: {sorted(back)} of {sorted(marks)}")
            time.sleep(0.05)
        print(f"\n  Redis restarted: every instance used it again within {time.monotonic() - restarted:.2f}s")
        c, _ = self.connect("127.0.0.14")
        c.ehlo()
        c.cmd("MAIL FROM:<back@sender.test>", 250)
        c.cmd("RCPT TO:<a@example.test>", 450, "4.7.1")   # a new triplet again
        c.cmd("QUIT", 221)
        c, _ = self.connect("127.0.0.13")                  # its outage session was not recorded
        c.cmd("QUIT", 221)
        first = self.naughty_session("127.0.0.15")
        self.refused_everywhere("127.0.0.15", first)

    # ---------------------------------------------------------------- per-IP limits

    def test_5_per_ip_limits_across_instances(self):
        # CONCURRENCY sessions from one client, wherever haproxy sends them, fill its limit; the
        # next one is refused by whichever instance takes it: the count is the deployment's.
        source = "127.0.0.16"
        held, where = [], []
        for _ in range(CONCURRENCY):
            c, i = self.connect(source)
            held.append(c)
            where.append(i)
        self.assertGreater(len(set(where)), 1, f"haproxy sent every session to mx{where[0] + 1}")
        refused_by = set()
        for _ in range(len(self.alive())):     # leastconn: the next ones reach other instances
            c, _ = self.connect(source, greet=False)
            r = c.read_reply()
            self.assertEqual((r.code, r.esc), (421, "4.7.0"), r.raw)
            self.assertIn("Too many concurrent connections", r.text)
            c.close()
            m = [i for i in self.alive() if self.count_log(i, rf"limit: concurrency \d+/{CONCURRENCY} \(limit:concurrency:{re.escape(source)}\), disconnecting") > 0]
            refused_by.update(m)
        # An instance that refused held fewer than CONCURRENCY of them itself: it counted the others'.
        self.assertTrue(refused_by, "no instance logged the refusal")
        for i in refused_by:
            self.assertLess(where.count(i), CONCURRENCY, f"mx{i + 1} held every session itself")
        # Another client behind the same haproxy is greeted meanwhile.
        c, _ = self.connect("127.0.0.17")
        c.cmd("QUIT", 221)
        for c in held:
            c.cmd("QUIT", 221)
            c.close()
        # The counts were given back: the client gets in again.
        deadline = time.monotonic() + 5
        while True:
            c, _ = self.connect(source, greet=False)
            r = c.read_reply()
            c.close()
            if r.code == 220:
                break
            self.assertLess(time.monotonic(), deadline, f"{source} still refused: {r.raw}")
            time.sleep(0.1)
        print(f"\n  limit concurrency {CONCURRENCY}: sessions on mx{'/mx'.join(str(i + 1) for i in where)}, "
              f"the next refused by mx{'/mx'.join(str(i + 1) for i in sorted(refused_by))}")

if __name__ == "__main__":
    unittest.main()

"""test_milter_reuse.py - the milter plugin's `reuse N`: a session's milter connection parked
with QUIT_NC and taken by a later session, against a real libmilter filter (python3-milter,
milter_support.TestMilter) behind a relay that counts the TCP connections asmtpd makes to it.

Covered: sessions one after another share one connection, and each gets the filter's whole
exchange and its actions; without `reuse` every session connects; a session that ended without
an end of message, or with one the filter answered ACCEPT (libmilter then ignores QUIT_NC), is
not parked; a parked connection whose other side closed is never used (the
next session connects anew and is not refused); `reuse_idle` closes old ones; the plugin's
connection counts on the metrics page. Bad arguments: test_milter.
Skipped, with the reason, only when python3-milter is not installed (scripts/bootstrap).
Owner: the milter plugin (issue 13).
"""

import socket
import threading
import time
import unittest

from harness import E2ETestCase, free_port
from milter_support import SharedTestMilter, milter_unavailable
from test_metrics import http_get
from test_milter import fields, message

WHY_NOT = milter_unavailable()


class CountingRelay:
    """Accepts on a loopback port and pipes each connection to the filter; counts accepts."""

    def __init__(self, upstream_port):
        self.upstream = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepted = 0
        self.pairs = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                down, _ = self.listener.accept()
            except OSError:
                return
            up = socket.create_connection(("127.0.0.1", self.upstream))
            with self.lock:
                self.accepted += 1
                self.pairs.append((down, up))
            for a, b in ((down, up), (up, down)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def count(self):
        with self.lock:
            return self.accepted

    def cut(self):
        """Closes every connection, as a restarted filter would."""
        with self.lock:
            pairs, self.pairs = self.pairs, []
        for pair in pairs:
            for s in pair:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.listener.close()
        self.cut()


@unittest.skipIf(WHY_NOT is not None, WHY_NOT or "")
class MilterReuseTest(SharedTestMilter, E2ETestCase):

    def setUp(self):
        super().setUp()
        self.relay = CountingRelay(self.milter.port)
        self.addCleanup(self.relay.close)

    def daemon(self, options="reuse 4", settings=None):
        line = f"milter socket inet:{self.relay.port}@127.0.0.1 command_timeout 5 content_timeout 5 {options}"
        return self.start_daemon(plugins=[line, "rcpt_ok", "queue/maildir {maildir}"],
                                 files={"rcpthosts": "example.com\n"}, settings=settings)

    def session(self, d, subject=None):
        """One SMTP session; with a subject, one message in it."""
        c = self.client(d, timeout=30)
        c.ehlo()
        if subject is not None:
            r = c.send_mail(sender="s@example.org", rcpts=["bob@example.com"], body=message(subject))
            self.assertEqual(r.code, 250, r.raw)
        c.cmd("QUIT", 221)
        c.close()

    def settle(self):
        time.sleep(0.3)   # the daemon parks or closes after the QUIT reply

    def test_sessions_one_after_another_share_one_connection(self):
        port = free_port()
        d = self.daemon(settings={"metrics": {"listen": f"127.0.0.1:{port}"}})
        before = self.relay.count()   # the harness's readiness probe made one
        for i in range(3):
            self.session(d, f"reuse {i} ADDHDR EOMCONTINUE")
            self.settle()
        self.assertEqual(self.relay.count(), before + 1)
        got = self.assertDelivered(d, 3)
        for m in got:
            self.assertEqual(fields(m.raw, "X-Milter-one"), ["seen"])
            self.assertEqual(fields(m.raw, "X-Added"), ["added by one"])
        # libmilter began a new filter session for each: CONNECT with that session's macros.
        ports = [e["macros"]["{client_port}"] for e in self.milter.events("connect")]
        self.assertEqual(len(set(ports[-3:])), 3, ports)
        self.assertGreaterEqual(len(self.milter.wait_events("close", 3)), 3)
        # The plugin counts how each session got its connection (Context::count): every
        # connection the relay saw was opened (the probe's and the first session's), the next
        # two sessions reused one.
        status, _, page = http_get(port)
        self.assertEqual(status, 200)
        opened = self.relay.count()
        self.assertIn(f'\nasmtpd_plugin_events_total{{plugin="milter",event="connection_opened"}} {opened}\n', page)
        self.assertIn('\nasmtpd_plugin_events_total{plugin="milter",event="connection_reused"} 2\n', page)

    def test_without_reuse_every_session_connects(self):
        d = self.daemon(options="")
        before = self.relay.count()
        for i in range(3):
            self.session(d, f"plain {i} EOMCONTINUE")
            self.settle()
        self.assertEqual(self.relay.count(), before + 3)
        self.assertDelivered(d, 3)

    def test_a_session_without_an_end_of_message_is_not_parked(self):
        d = self.daemon()
        before = self.relay.count()
        self.session(d)   # EHLO, QUIT: the filter's state does not allow QUIT_NC
        self.settle()
        c = self.client(d, timeout=30)
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.org>", 250)
        c.cmd("RSET", 250)   # ABORT: not an end of message either
        c.cmd("QUIT", 221)
        self.settle()
        self.session(d, "accepted")   # ACCEPT at the end: libmilter would ignore a QUIT_NC
        self.settle()
        self.session(d, "after EOMCONTINUE")
        self.settle()
        self.assertEqual(self.relay.count(), before + 4)
        self.session(d, "parked one EOMCONTINUE")
        self.assertEqual(self.relay.count(), before + 4)
        self.assertDelivered(d, 3)

    def test_a_parked_connection_closed_by_the_other_side_is_not_used(self):
        d = self.daemon()
        before = self.relay.count()
        self.session(d, "first EOMCONTINUE")
        self.settle()
        self.relay.cut()   # the filter restarted while the connection was parked
        self.settle()
        self.session(d, "second ADDHDR EOMCONTINUE")   # must not meet the dead connection (451)
        self.assertEqual(self.relay.count(), before + 2)
        got = self.assertDelivered(d, 2)
        self.assertEqual(sum(fields(m.raw, "X-Added") == ["added by one"] for m in got), 1)

    def test_reuse_idle_closes_old_connections(self):
        d = self.daemon(options="reuse 4 reuse_idle 1")
        before = self.relay.count()
        self.session(d, "first EOMCONTINUE")
        time.sleep(1.5)
        self.session(d, "second EOMCONTINUE")
        self.assertEqual(self.relay.count(), before + 2)
        self.assertDelivered(d, 2)


if __name__ == "__main__":
    unittest.main()

"""harness.py - what the end-to-end tests import: E2ETestCase, and the names of the modules below.

E2ETestCase gives each test daemons that are stopped and checked at its end, and clients that are
closed before that; on failure it prints the daemons' stderr. The work is done by:
  daemon_process.py  Daemon (the real asmtpd on loopback, stopped by pid), run_asmtpd, free_port,
                     REPO, BIN, HOSTNAME, RUN_AS_YAML and the other start/stop settings
  smtp_client.py     Client (raw-socket SMTP), Reply, ConnectionClosed, dot_stuff, TIMEOUT
  maildir_reader.py  Maildir and Message (what queue/maildir delivered)
  yaml_config.py     to_yaml, deep_merge (asmtpd.yaml from Python values)
Their names are re-exported here, so `from harness import ...` keeps working for every test.
BIN is absolute and read once: set $ASMTPD_BIN, not harness.BIN. Owner: tooling (t/e2e/).
"""

import sys
import unittest

from daemon_process import (BIN, DEFAULT_FILES, DEFAULT_PLUGINS, HOSTNAME, KEEP, REPO,  # noqa: F401
                            RUN_AS_ROOT, RUN_AS_YAML, SANITIZER_MARKERS, START_TIMEOUT, STOP_TIMEOUT, Daemon, StartError,
                            _kill_live, _live, free_port, run_asmtpd)
from maildir_reader import TRACE_FIELDS, Maildir, Message  # noqa: F401
from smtp_client import TIMEOUT, Client, ConnectionClosed, Reply, dot_stuff  # noqa: F401
from yaml_config import deep_merge, to_yaml  # noqa: F401


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

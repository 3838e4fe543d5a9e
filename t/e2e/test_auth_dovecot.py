"""test_auth_dovecot.py - AUTH PLAIN and LOGIN checked by a real Dovecot: auth/dovecot over
Dovecot's auth socket (the protocol Postfix's smtpd_sasl_type=dovecot speaks) and auth/imap
(an IMAP LOGIN against Dovecot's IMAP on loopback, plain and imaps).

One Dovecot for the class (dovecot_support.py: passwd-file users with real passwords, the auth
client socket in its temporary directory, IMAP on a free port, no failure penalty). The right
password gives 235, a wrong one 535 5.7.8 (for both mechanisms and both plugins); Dovecot
stopped gives 454 4.7.0 and, once it is back, the same daemon authenticates again (auth/dovecot
reconnects); a server that accepts and never answers gives 454 at the plugin's timeout; imaps
works with a verified certificate and fails temporarily (454) without one.
Passwords never reach asmtpd's log. Skipped, with the reason, only when Dovecot's IMAP is not
installed (scripts/bootstrap installs it).
Owner: auth backends (issue 16).
"""

import os
import shutil
import signal
import socket
import tempfile
import threading
import time
import unittest
from pathlib import Path

from dovecot_support import DOMAIN, Dovecot, unavailable
from harness import E2ETestCase
from tls_support import b64, plain_response, server_cert

WHY_NOT = unavailable(imap=True)

ALICE_PW = "Wonder land 1!\"\\x"      # blanks, a quote and a backslash (passwd-file cannot hold a colon)
BOB_PW = "bob-p\u00e4ssword"         # 8-bit: an IMAP literal
SETTINGS = {"limits": {"auth_failures_per_ip": 0}, "tls_before_auth": False}


def user(name):
    return f"{name}@{DOMAIN}"


class SilentServer:
    """Accepts connections on a Unix socket or a loopback port and never says a word."""

    def __init__(self, path=None):
        if path:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.bind(path)
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.bind(("127.0.0.1", 0))
        self.port = None if path else self.sock.getsockname()[1]
        self.sock.listen(8)
        self.held = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        for c in self.held:
            c.close()


@unittest.skipIf(WHY_NOT is not None, WHY_NOT or "")
class AuthDovecotTest(E2ETestCase):

    @classmethod
    def setUpClass(cls):
        cert = server_cert()
        cls.ca_file = cert.cert
        cls.dovecot = Dovecot(users=(), passwords={"alice": ALICE_PW, "bob": BOB_PW}, tls_cert=(cert.cert, cert.key))

    @classmethod
    def tearDownClass(cls):
        cls.dovecot.cleanup()

    def setUp(self):
        if not self.dovecot.running():
            self.dovecot.start()

    def daemon(self, line):
        return self.start_daemon(plugins=[line, "rcpt_ok", "queue/maildir {maildir}"], settings=SETTINGS)

    def backends(self):
        """Both plugins, each in its own daemon, against the class's Dovecot."""
        return {"auth/dovecot": self.daemon(f"auth/dovecot {self.dovecot.auth_socket} timeout 3"),
                "auth/imap": self.daemon(f"auth/imap 127.0.0.1 {self.dovecot.imap_port} timeout 3")}

    def session(self, d):
        c = self.client(d)
        c.ehlo()
        return c

    def send_auth(self, c, mech, name, password):
        """The AUTH exchange up to its last client line (the answer is read by the caller)."""
        if mech == "PLAIN":
            c.send(f"AUTH PLAIN {plain_response(name, password)}\r\n".encode())
        else:
            c.cmd("AUTH LOGIN", 334)
            c.cmd(b64(name), 334)
            c.send(f"{b64(password)}\r\n".encode())

    def assertAuth(self, d, mech, name, password, code, esc):
        c = self.session(d)
        self.send_auth(c, mech, name, password)
        return c.expect(code, esc, timeout=10)

    def assertNoSecrets(self, d):
        log = d.stderr_text()
        for pw in (ALICE_PW, BOB_PW, "wrong-" + ALICE_PW):
            self.assertNotIn(pw, log, "a password reached the log")
            self.assertNotIn(b64(pw), log, "a base64 password reached the log")

    def test_right_and_wrong_passwords(self):
        daemons = self.backends()
        for plugin, d in daemons.items():
            for mech in ("PLAIN", "LOGIN"):
                with self.subTest(plugin=plugin, mech=mech):
                    self.assertAuth(d, mech, user("alice"), ALICE_PW, 235, "2.7.0")
                    self.assertAuth(d, mech, user("bob"), BOB_PW, 235, "2.7.0")
        # Wrong passwords and an unknown user, all at once (Dovecot answers a failure after
        # half a second; in parallel the test waits for that once).
        wrong = []
        for plugin, d in daemons.items():
            for mech in ("PLAIN", "LOGIN"):
                for name, pw in ((user("alice"), "wrong-" + ALICE_PW), (user("carol"), ALICE_PW),
                                 ("alice", ALICE_PW)):
                    c = self.session(d)
                    self.send_auth(c, mech, name, pw)
                    wrong.append((plugin, mech, name, c))
        for plugin, mech, name, c in wrong:
            with self.subTest(plugin=plugin, mech=mech, user=name):
                c.expect(535, "5.7.8", timeout=10)
        # An accepted session relays (AUTH is what grants it).
        c = self.session(daemons["auth/dovecot"])
        c.cmd(f"AUTH PLAIN {plain_response(user('alice'), ALICE_PW)}", 235)
        c.cmd("MAIL FROM:<alice@example.test>", 250)
        c.cmd("RCPT TO:<someone@foreign.test>", 250)
        for d in daemons.values():
            self.assertNoSecrets(d)
        self.assertIn("auth/dovecot: PLAIN accepted for 'alice@example.test'", daemons["auth/dovecot"].stderr_text())
        self.assertIn("auth/imap: LOGIN refused for 'alice@example.test': [AUTHENTICATIONFAILED]",
                      daemons["auth/imap"].stderr_text())

    def test_lost_connection_and_stopped_dovecot(self):
        daemons = self.backends()
        for d in daemons.values():
            self.assertAuth(d, "PLAIN", user("alice"), ALICE_PW, 235, "2.7.0")
        # auth/dovecot keeps its connection: when Dovecot's auth process goes away (its master
        # starts a new one on demand), the next AUTH connects again.
        os.kill(self.dovecot.auth_server_pid(), signal.SIGTERM)
        time.sleep(0.3)
        self.assertAuth(daemons["auth/dovecot"], "LOGIN", user("bob"), BOB_PW, 235, "2.7.0")
        # Dovecot stopped (its auth process may still serve connections it had, so the
        # daemons here are new ones): 454, and the same daemons authenticate once it is back.
        self.dovecot.stop()
        daemons = self.backends()
        for plugin, d in daemons.items():
            for mech in ("PLAIN", "LOGIN"):
                with self.subTest(plugin=plugin, mech=mech):
                    r = self.assertAuth(d, mech, user("alice"), ALICE_PW, 454, "4.7.0")
                    self.assertIn("Temporary authentication failure", r.text)
        self.assertRegex(daemons["auth/dovecot"].stderr_text(),
                         r"auth/dovecot: PLAIN temporary failure for 'alice@example.test': unix:\S*auth-client")
        self.dovecot.start()
        for plugin, d in daemons.items():
            with self.subTest(plugin=plugin, after="restart"):
                self.assertAuth(d, "LOGIN", user("bob"), BOB_PW, 235, "2.7.0")

    def test_imaps(self):
        port = self.dovecot.imaps_port
        good = self.daemon(f"auth/imap 127.0.0.1 {port} tls yes ca_file {self.ca_file} timeout 3")
        self.assertAuth(good, "PLAIN", user("alice"), ALICE_PW, 235, "2.7.0")
        self.assertAuth(good, "LOGIN", user("bob"), BOB_PW, 235, "2.7.0")
        self.assertAuth(good, "PLAIN", user("bob"), "wrong-" + BOB_PW, 535, "5.7.8")
        # A certificate for another name, one that does not verify, TLS to a plain IMAP port:
        # temporary failures, never a password sent in the clear or to an unverified server.
        bad = {"name": self.daemon(f"auth/imap 127.0.0.1 {port} tls yes ca_file {self.ca_file} "
                                   "tls_name other.example.test timeout 3"),
               "untrusted": self.daemon(f"auth/imap 127.0.0.1 {port} tls yes timeout 3"),
               "plain port": self.daemon(f"auth/imap 127.0.0.1 {self.dovecot.imap_port} tls yes "
                                         f"ca_file {self.ca_file} timeout 3")}
        for why, d in bad.items():
            with self.subTest(why):
                self.assertAuth(d, "PLAIN", user("alice"), ALICE_PW, 454, "4.7.0")
                self.assertIn("auth/imap: PLAIN temporary failure for 'alice@example.test'", d.stderr_text())
                self.assertIn(": TLS: ", d.stderr_text())
        self.assertNoSecrets(good)

    def test_silent_server_hits_the_deadline(self):
        tmp = Path(tempfile.mkdtemp(prefix="asmtpd-silent-"))
        self.addCleanup(shutil.rmtree, tmp, True)
        unix = SilentServer(str(tmp / "auth"))
        tcp = SilentServer()
        self.addCleanup(unix.close)
        self.addCleanup(tcp.close)
        daemons = {"auth/dovecot": self.daemon(f"auth/dovecot {tmp / 'auth'} timeout 1"),
                   "auth/imap": self.daemon(f"auth/imap 127.0.0.1 {tcp.port} timeout 1")}
        started = []
        for plugin, d in daemons.items():
            for mech in ("PLAIN", "LOGIN"):
                c = self.session(d)
                self.send_auth(c, mech, user("alice"), ALICE_PW)
                started.append((plugin, mech, c, time.monotonic()))
        for plugin, mech, c, t0 in started:
            with self.subTest(plugin=plugin, mech=mech):
                c.expect(454, "4.7.0", timeout=5)
                elapsed = time.monotonic() - t0
                self.assertGreater(elapsed, 0.8)
                self.assertLess(elapsed, 3.0)
        self.assertIn("no answer within 1000 ms (the handshake did not end)", daemons["auth/dovecot"].stderr_text())
        self.assertIn("no answer within 1000 ms", daemons["auth/imap"].stderr_text())


if __name__ == "__main__":
    unittest.main()

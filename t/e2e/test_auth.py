"""test_auth.py - AUTH (RFC 4954) PLAIN, LOGIN and CRAM-MD5 through auth/flat_file and
auth/checkpassword, tls_before_auth, the per-IP failure limit and submission listeners.

Real clients: swaks --auth (over --tls), and a raw client for the SASL edge cases (bad base64,
"*" cancel, overlong responses, AUTH at the wrong moment). Hashes are made per run (Python's
crypt module, else `openssl passwd -6`). Every test asserts replies and the maildir.
Owner: e2e tests of issue 5.
"""

import base64
import re
from pathlib import Path

from harness import HOSTNAME, REPO, E2ETestCase, deep_merge
from tls_support import (TlsClient, b64, cram_md5_response, crypt_hash, ehlo_line, plain_response,
                         start_with_listeners, swaks, tls_settings)

CHECKPASSWORD = REPO / "t" / "fixtures" / "checkpassword.sh"

ALICE_PW = "Wonder land:1!"          # blanks and a colon: the hash field carries it, not the line
ALICE_CRAM = "alice-cram-secret"
CAROL_CRAM = "carol:secret:with:colons"
BOB_PW = "bob-password"

AUTH_PLUGINS = ["auth/flat_file", "rcpt_ok", "queue/maildir {maildir}"]
NO_LIMIT = {"limits": {"auth_failures_per_ip": 0}}
PLAINTEXT_AUTH = deep_merge(NO_LIMIT, {"tls_before_auth": False})
FOREIGN = "someone@foreign.test"

_users = None


def users_file():
    """flat_auth_pw: alice (password + CRAM secret), bob (password only), carol (CRAM only),
    dave (locked). Hashed once per process."""
    global _users
    if _users is None:
        _users = ("# test users\n"
                  f"alice:{crypt_hash(ALICE_PW)}:{ALICE_CRAM}\n"
                  f"bob:{crypt_hash(BOB_PW)}\n"
                  "\n"
                  f"carol:*:{CAROL_CRAM}\n"
                  f"dave:!{crypt_hash('dave-password')}\n")
    return _users


def mech_secret(mech):
    return ALICE_CRAM if mech == "CRAM-MD5" else ALICE_PW


class AuthTest(E2ETestCase):

    def auth_daemon(self, settings=None, plugins=None, files=None):
        all_files = {"flat_auth_pw": users_file()}
        all_files.update(files or {})
        return self.start_daemon(plugins=AUTH_PLUGINS if plugins is None else plugins, files=all_files,
                                 settings=deep_merge(tls_settings(), settings if settings is not None else NO_LIMIT))

    def conn(self, port, **kw):
        c = TlsClient.connect(port, **kw)
        self.addCleanup(c.close)
        return c

    def plain_session(self, d):
        """A plaintext session after EHLO (the daemon has tls_before_auth: false)."""
        c = self.conn(d.port)
        c.ehlo()
        return c

    def auth_plain(self, c, user, password, code=235, esc=None):
        return c.cmd("AUTH PLAIN " + plain_response(user, password), code, esc)

    def cram(self, c, user, secret, code=235, esc=None):
        r = c.cmd("AUTH CRAM-MD5", 334)
        resp, challenge = cram_md5_response(r.lines[0], user, secret)
        # RFC 2195: the challenge looks like an RFC 822 msg-id.
        self.assertRegex(challenge.decode(), r"^<[^<>@\s]+@[^<>@\s]+>$")
        return c.cmd(resp, code, esc)

    def assertRelayDelivered(self, d, c, proto):
        c.cmd("MAIL FROM:<alice@example.test>", 250)
        c.cmd(f"RCPT TO:<{FOREIGN}>", 250)
        c.cmd("DATA", 354)
        c.send(b"Subject: relayed\r\n\r\nauthenticated relay\r\n.\r\n")
        c.expect(250)
        [m] = self.assertDelivered(d, 1)
        self.assertRegex(m.received, rf"\bwith {proto}\b")
        return m

    # ------------------------------------------------------------ swaks

    def test_swaks_good_credentials_relay(self):
        d = self.auth_daemon()
        # Without AUTH the foreign recipient is refused: relaying is what AUTH grants.
        rc, out = swaks("--server", f"127.0.0.1:{d.port}", "--tls", "--to", FOREIGN,
                        "--from", "alice@example.test")
        self.assertNotEqual(rc, 0, out[-3000:])
        self.assertRegex(out, r"<[~-]\*+ *5\d\d ", out[-3000:])
        self.assertDelivered(d, 0)
        for n, mech in enumerate(("PLAIN", "LOGIN", "CRAM-MD5"), start=1):
            with self.subTest(mech):
                rc, out = swaks("--server", f"127.0.0.1:{d.port}", "--tls", "--auth", mech,
                                "--auth-user", "alice", "--auth-password", mech_secret(mech),
                                "--to", FOREIGN, "--from", "alice@example.test",
                                "--header", f"Subject: auth {mech}")
                self.assertEqual(rc, 0, out[-3000:])
                self.assertRegex(out, r"<~ *250[- ]AUTH\b.*\bPLAIN\b", out[-3000:])
                self.assertRegex(out, r"<~ *235 2\.7\.0", out[-3000:])
                msgs = self.assertDelivered(d, n)
                m = [x for x in msgs if f"Subject: auth {mech}".encode() in x.content]
                self.assertEqual(len(m), 1, [x.path.name for x in msgs])
                self.assertRegex(m[0].received, r"\bwith ESMTPSA\b")
                self.assertIn(FOREIGN, m[0].received)

    def test_swaks_bad_credentials(self):
        d = self.auth_daemon()
        cases = [("PLAIN", "alice", "Guess-PLAIN-q7Zt"), ("LOGIN", "alice", ALICE_PW + "x"),
                 ("CRAM-MD5", "alice", "Guess-CRAM-w2Rv"), ("PLAIN", "nobody", "Guess-nobody-k9Lp"),
                 ("LOGIN", "dave", "dave-password"), ("PLAIN", "carol", CAROL_CRAM),
                 ("CRAM-MD5", "bob", BOB_PW), ("CRAM-MD5", "dave", "Guess-dave-m4Hs"),
                 ("PLAIN", "Alice", ALICE_PW)]
        for mech, user, pw in cases:
            with self.subTest(mech=mech, user=user):
                rc, out = swaks("--server", f"127.0.0.1:{d.port}", "--tls", "--auth", mech,
                                "--auth-user", user, "--auth-password", pw, "--to", FOREIGN)
                self.assertNotEqual(rc, 0, out[-3000:])
                self.assertRegex(out, r"<~\* *535 5\.7\.8 ", out[-3000:])
        # Passwords and secrets never reach the log (debug level included), right or wrong.
        log = d.stderr_text()
        for _, _, pw in cases:
            self.assertNotIn(pw, log, "a password reached the log")
            self.assertNotIn(b64(pw), log, "a base64 password reached the log")
        self.assertDelivered(d, 0)

    # ------------------------------------------------------------ tls_before_auth

    def test_auth_needs_tls_by_default(self):
        d = self.auth_daemon()
        c = self.conn(d.port)
        r = c.ehlo()
        self.assertIsNone(ehlo_line(r, "AUTH"), f"AUTH offered before TLS: {r.raw!r}")
        self.auth_plain(c, "alice", ALICE_PW, 538, "5.7.11")
        c.starttls()
        r = c.ehlo()
        line = ehlo_line(r, "AUTH")
        self.assertIsNotNone(line, r.raw)
        self.assertEqual(set(line.upper().split()[1:]), {"PLAIN", "LOGIN", "CRAM-MD5"}, line)
        self.auth_plain(c, "alice", ALICE_PW, 235, "2.7.0")
        r = c.ehlo()
        self.assertIsNone(ehlo_line(r, "AUTH"), f"AUTH offered after a successful AUTH: {r.raw!r}")
        self.assertRelayDelivered(d, c, "ESMTPSA")

    def test_plaintext_auth_when_allowed(self):
        d = self.auth_daemon(settings=PLAINTEXT_AUTH)
        c = self.conn(d.port)
        r = c.ehlo()
        self.assertIsNotNone(ehlo_line(r, "AUTH"), r.raw)
        r = c.cmd("AUTH LOGIN", 334)
        self.assertEqual(base64.b64decode(r.lines[0]), b"Username:")
        r = c.cmd(b64("alice"), 334)
        self.assertEqual(base64.b64decode(r.lines[0]), b"Password:")
        c.cmd(b64(ALICE_PW), 235, "2.7.0")
        self.assertRelayDelivered(d, c, "ESMTPA")

    def test_login_with_initial_response_and_cram(self):
        d = self.auth_daemon(settings=PLAINTEXT_AUTH)
        c = self.plain_session(d)
        r = c.cmd("AUTH LOGIN " + b64("alice"), 334)
        self.assertEqual(base64.b64decode(r.lines[0]), b"Password:")
        c.cmd(b64(ALICE_PW), 235)
        c2 = self.plain_session(d)
        self.cram(c2, "carol", CAROL_CRAM, 235, "2.7.0")     # "*" hash: CRAM-MD5 only
        c3 = self.plain_session(d)
        self.auth_plain(c3, "carol", CAROL_CRAM, 535, "5.7.8")
        c4 = self.plain_session(d)
        self.cram(c4, "alice", ALICE_PW, 535, "5.7.8")        # the password is not the CRAM secret
        # authzid = authcid is fine; a PLAIN message naming another authzid is not alice's login.
        c5 = self.plain_session(d)
        c5.cmd("AUTH PLAIN " + plain_response("alice", ALICE_PW, authzid="alice"), 235)
        self.assertRelayDelivered(d, c2, "ESMTPA")

    # ------------------------------------------------------------ SASL syntax

    def test_sasl_errors(self):
        d = self.auth_daemon(settings=PLAINTEXT_AUTH)
        cases = [
            ("bad base64 response", ["AUTH PLAIN"], "!!!not*base64", 501, "5.5.2"),
            ("bad base64 initial response", [], "AUTH PLAIN ab$c", 501, "5.5.2"),
            ("bad base64 login user", ["AUTH LOGIN"], "dXNlcg=x", 501, "5.5.2"),
            ("cancel PLAIN", ["AUTH PLAIN"], "*", 501, None),
            ("cancel LOGIN at password", ["AUTH LOGIN", b64("alice")], "*", 501, None),
            ("cancel CRAM-MD5", ["AUTH CRAM-MD5"], "*", 501, None),
            ("unknown mechanism", [], "AUTH X-UNKNOWN", 504, "5.5.4"),
            ("CRAM-MD5 initial response", [], "AUTH CRAM-MD5 " + b64("alice x"), 501, None),
            ("PLAIN without password", [], "AUTH PLAIN " + b64("\0alice"), 501, "5.5.2"),
        ]
        for name, lead, line, code, esc in cases:
            with self.subTest(name):
                c = self.plain_session(d)
                for l in lead:
                    c.cmd(l, 334)
                r = c.cmd(line, code, esc)
                self.assertEscMatches(r)
                # The exchange is over: the next line is a command again, and AUTH still works.
                c.cmd("NOOP", 250)
                self.auth_plain(c, "alice", ALICE_PW, 235)
        self.assertDelivered(d, 0)

    def test_overlong_response(self):
        d = self.auth_daemon(settings=PLAINTEXT_AUTH)
        for lead in (["AUTH PLAIN"], ["AUTH LOGIN"], ["AUTH LOGIN", b64("alice")], ["AUTH CRAM-MD5"]):
            with self.subTest(lead=lead):
                c = self.plain_session(d)
                for l in lead:
                    c.cmd(l, 334)
                c.send(b"QUFB" * (13 * 1024 // 4) + b"\r\n")     # 13 KB of valid base64
                c.expect(500, "5.5.6")
                c.cmd("NOOP", 250)
                self.auth_plain(c, "alice", ALICE_PW, 235)
                c.cmd("MAIL FROM:<a@example.test>", 250)
        # Just under the limit is a response, not an overlong line (decoded: garbage -> 501).
        c = self.plain_session(d)
        c.cmd("AUTH PLAIN", 334)
        r = c.cmd("QUFB" * (12 * 1024 // 4 - 2), (501, 535))
        self.assertNotEqual(r.code, 500, r.raw)

    # ------------------------------------------------------------ AUTH at the wrong time

    def test_auth_sequence_errors(self):
        d = self.auth_daemon(settings=PLAINTEXT_AUTH)
        with self.subTest("before any greeting"):
            c = self.conn(d.port)
            self.auth_plain(c, "alice", ALICE_PW, 503)
        with self.subTest("after HELO"):
            c = self.conn(d.port)
            c.cmd("HELO client.e2e.test", 250)
            self.auth_plain(c, "alice", ALICE_PW, 503)
        with self.subTest("inside a transaction"):
            c = self.plain_session(d)
            c.cmd("MAIL FROM:<s@example.test>", 250)
            self.auth_plain(c, "alice", ALICE_PW, 503)
            c.cmd(f"RCPT TO:<{FOREIGN}>", 550)         # still no relay rights
            c.cmd("RSET", 250)
            self.auth_plain(c, "alice", ALICE_PW, 235)
        with self.subTest("twice"):
            c = self.plain_session(d)
            self.auth_plain(c, "alice", ALICE_PW, 235)
            self.auth_plain(c, "alice", ALICE_PW, 503)
            c.cmd("AUTH CRAM-MD5", 503)
        self.assertDelivered(d, 0)

    def test_no_auth_plugin_no_auth(self):
        d = self.start_daemon(settings=deep_merge(tls_settings(), {"tls_before_auth": False}))
        c = self.plain_session(d)
        self.assertNotIn("AUTH", [l.split()[0].upper() for l in c.ehlo().lines[1:]])
        self.auth_plain(c, "alice", ALICE_PW, 502)

    # ------------------------------------------------------------ brute force

    def test_failure_limit_per_ip(self):
        d = self.auth_daemon(settings={"tls_before_auth": False, "limits": {"auth_failures_per_ip": 3}})
        c = self.plain_session(d)
        self.auth_plain(c, "alice", "guess1", 535, "5.7.8")
        c.cmd("AUTH LOGIN", 334)
        c.cmd(b64("bob"), 334)
        c.cmd(b64("guess2"), 535, "5.7.8")
        r = self.auth_plain(c, "alice", "guess3", 421, "4.7.0")
        self.assertTrue(r.lines[0].split(" ", 1)[1].startswith(HOSTNAME), r.raw)
        self.assertClosed(c)
        # The count is per IP, not per connection.
        c2 = self.plain_session(d)
        self.cram(c2, "alice", "guess4", 421, "4.7.0")
        self.assertClosed(c2)
        self.assertDelivered(d, 0)

    # ------------------------------------------------------------ submission

    def test_submission_requires_auth(self):
        d, [sub] = start_with_listeners(self, [{"mode": "submission"}], plugins=AUTH_PLUGINS,
                                        files={"flat_auth_pw": users_file()},
                                        settings=deep_merge(tls_settings(), NO_LIMIT))
        c = self.conn(sub)
        c.ehlo()
        # Outside TLS AUTH is not even offered (tls_before_auth): the reply says what to do.
        r = c.cmd("MAIL FROM:<alice@example.test>", 530, "5.7.0")
        self.assertIn("Must issue a STARTTLS command first", r.raw.decode())
        c.starttls()
        c.ehlo()
        r = c.cmd("MAIL FROM:<alice@example.test>", 530, "5.7.0")
        self.assertIn("Authentication required", r.raw.decode())
        self.auth_plain(c, "alice", "wrong", 535)
        c.cmd("MAIL FROM:<alice@example.test>", 530, "5.7.0")
        self.auth_plain(c, "alice", ALICE_PW, 235)
        self.assertRelayDelivered(d, c, "ESMTPSA")
        # swaks without AUTH on the submission port fails at MAIL.
        rc, out = swaks("--server", f"127.0.0.1:{sub}", "--tls", "--to", "a@example.test")
        self.assertNotEqual(rc, 0, out[-3000:])
        self.assertRegex(out, r"<~\* *530 5\.7\.0", out[-3000:])
        # The plain listener of the same daemon takes mail for local domains without AUTH.
        p = self.conn(d.port)
        p.ehlo()
        p.send_mail(rcpts=("a@example.test", ))
        self.assertDelivered(d, 2)

    # ------------------------------------------------------------ checkpassword

    def test_checkpassword(self):
        if not CHECKPASSWORD.exists():
            self.skipTest(f"{CHECKPASSWORD} not present")
        plugins = [f"auth/checkpassword env CHECKPW_DUMP={{tmp}}/cp {CHECKPASSWORD} /bin/true",
                   "rcpt_ok", "queue/maildir {maildir}"]
        d = self.start_daemon(plugins=plugins, settings=deep_merge(tls_settings(), NO_LIMIT))
        for mech in ("PLAIN", "LOGIN"):
            with self.subTest(mech=mech, creds="good"):
                rc, out = swaks("--server", f"127.0.0.1:{d.port}", "--tls", "--auth", mech,
                                "--auth-user", "alice", "--auth-password", "wonderland",
                                "--to", FOREIGN, "--header", f"Subject: cp {mech}")
                self.assertEqual(rc, 0, out[-3000:])
                self.assertRegex(out, r"<~ *235 2\.7\.0", out[-3000:])
            with self.subTest(mech=mech, creds="bad"):
                rc, out = swaks("--server", f"127.0.0.1:{d.port}", "--tls", "--auth", mech,
                                "--auth-user", "alice", "--auth-password", "Wonderland",
                                "--to", FOREIGN)
                self.assertNotEqual(rc, 0, out[-3000:])
                self.assertRegex(out, r"<~\* *535 5\.7\.8", out[-3000:])
        with self.subTest("temporary failure"):
            rc, out = swaks("--server", f"127.0.0.1:{d.port}", "--tls", "--auth", "PLAIN",
                            "--auth-user", "tempfail", "--auth-password", "x", "--to", FOREIGN)
            self.assertRegex(out, r"<~\* *454 4\.7\.0", out[-3000:])
        msgs = self.assertDelivered(d, 2)
        for m in msgs:
            self.assertRegex(m.received, r"\bwith ESMTPSA\b")
        # What the program got: the qmail interface on fd 3 and tcpserver's variables.
        fd3 = Path(d.tmp, "cp.fd3").read_bytes()
        self.assertEqual(fd3, b"tempfail\0x\0\0")
        env = Path(d.tmp, "cp.env").read_text()
        self.assertRegex(env, r"(?m)^TCPREMOTEIP=127\.0\.0\.1$")
        self.assertRegex(env, r"(?m)^PROTO=TCP$")

    # ------------------------------------------------------------ what later plugins see

    def test_spp_sees_authenticated_user(self):
        fx = REPO / "t" / "fixtures" / "spp" / "record.py"
        plugins = ["auth/flat_file", "spp timeout 3", "rcpt_ok qmail", "queue/maildir {maildir}"]
        files = {"smtpplugins": f"[mail]\n:{fx} {{tmp}}/spp.log MAIL SMTPAUTHUSER RELAYCLIENT TCPREMOTEINFO\n",
                 "rcpthosts": "example.test\n"}
        d = self.auth_daemon(settings=PLAINTEXT_AUTH, plugins=plugins, files=files)
        c = self.plain_session(d)
        self.auth_plain(c, "alice", ALICE_PW, 235)
        self.assertRelayDelivered(d, c, "ESMTPA")
        log = Path(d.tmp, "spp.log").read_text().splitlines()
        self.assertEqual(len(log), 1, log)
        # qmail's AUTH patches: SMTPAUTHUSER names the user, RELAYCLIENT is set (issue 5).
        self.assertIn("SMTPAUTHUSER='alice'", log[0])
        self.assertIn("RELAYCLIENT=''", log[0])

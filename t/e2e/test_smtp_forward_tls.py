"""test_smtp_forward_tls.py - queue/smtp_forward's STARTTLS and AUTH towards a smarthost, and
DSN parameters passed on or dropped.

The smarthost is a second asmtpd (host name smarthost.e2e.test, STARTTLS with a certificate for
that name and 127.0.0.1, auth/flat_file, queue/maildir), started once per class; a second one
offers no STARTTLS. The oracle: the client gets 250 only when the smarthost's maildir holds the
message, and its Received field says how it came ("with ESMTPSA": TLS and AUTH; "with ESMTP":
neither); every failure is a 451 with the enhanced code of its kind (4.7.5 TLS, 4.7.0 AUTH),
nothing reaches the smarthost, and the forwarder's log says what failed. Never the password in
a log. Owner: next-hop hand-off (queue/smtp_forward).
"""

import unittest

from harness import E2ETestCase, Daemon
from test_smtp_forward import LmtpFixture, SmtpSink
from tls_support import crypt_hash, make_cert, tls_settings

SMARTHOST = "smarthost.e2e.test"
PASSWORD = "relay pass:1!"


class Smarthosts:
    """The two smarthosts of the class: .tls (STARTTLS + AUTH) and .plain (neither)."""

    def __init__(self):
        self.cert = make_cert("smarthost", cn=SMARTHOST)
        self.other = make_cert("other-ca", cn=SMARTHOST)   # same name, not the smarthost's key
        files = {"flat_auth_pw": f"relay:{crypt_hash(PASSWORD)}\n"}
        plugins = ["auth/flat_file", "rcpt_ok", "queue/maildir {maildir}"]
        settings = {"hostname": SMARTHOST, "limits": {"auth_failures_per_ip": 0}}
        self.tls = Daemon(plugins=plugins, files=files, settings={**settings, **tls_settings(self.cert)})
        self.plain = Daemon(plugins=plugins, files=files, settings=settings)
        self.daemons = [self.tls, self.plain]
        for d in self.daemons:
            d.start()

    def stop(self):
        for d in self.daemons:
            d.stop()
        try:
            for d in self.daemons:
                d.check_clean_exit()
        finally:
            for d in self.daemons:
                d.cleanup()


class SmtpForwardTlsTest(E2ETestCase):

    @classmethod
    def setUpClass(cls):
        cls.hosts = Smarthosts()

    @classmethod
    def tearDownClass(cls):
        cls.hosts.stop()

    def forwarder(self, smarthost, *args, password=PASSWORD):
        line = " ".join(["queue/smtp_forward", f"127.0.0.1:{smarthost.port}", "timeout", "3"] + list(args))
        return self.start_daemon(plugins=["rcpt_ok", line], files={"relay_pw": password + "\n"})

    def send(self, d, subject):
        c = self.client(d)
        c.ehlo()
        r = c.send_mail(rcpts=("a@example.test",), body=f"Subject: {subject}\r\n\r\nbody\r\n".encode())
        c.cmd("QUIT", 221)
        return r

    def delivered(self, smarthost, subject):
        return [m for m in smarthost.maildir.messages() if f"Subject: {subject}".encode() in m.content]

    def auth_args(self):
        return ["auth_user", "relay", "auth_pass_file", "{config}/relay_pw"]

    def test_starttls_and_auth_deliver(self):
        h = self.hosts
        d = self.forwarder(h.tls, "tls", "required", "ca_file", h.cert.cert, *self.auth_args())
        r = self.send(d, "secured")
        self.assertEqual(r.code, 250, r.raw)
        got = self.delivered(h.tls, "secured")
        self.assertEqual(len(got), 1)
        # The smarthost's own Received field: TLS and AUTH (RFC 3848 ESMTPSA).
        self.assertIn("with ESMTPSA", got[0].received)
        log = d.stderr_text()
        self.assertRegex(log, r"TLS TLSv1\.[23] \S+ \(certificate verified for 127\.0\.0\.1\)")
        self.assertIn("accepted AUTH as relay", log)
        self.assertNotIn(PASSWORD, log)

    def test_tls_failures_are_4xx_and_deliver_nothing(self):
        h = self.hosts
        cases = [
            ("wrong CA", h.tls, ["tls", "required", "ca_file", h.other.cert], "certificate verify failed"),
            ("wrong name", h.tls, ["tls", "required", "ca_file", h.cert.cert, "tls_name", "relay.e2e.test"],
             "certificate verify failed"),
            ("no offer", h.plain, ["tls", "required"], "does not offer STARTTLS"),
        ]
        for what, host, args, logged in cases:
            with self.subTest(what):
                d = self.forwarder(host, *args)
                r = self.send(d, what)
                self.assertEqual((r.code, r.esc), (451, "4.7.5"), r.raw)
                self.assertIn("TLS with the next hop failed", r.text)
                self.assertEqual(self.delivered(host, what), [])
                self.assertIn(logged, d.stderr_text())

    def test_auth_failures_are_4xx(self):
        h = self.hosts
        cases = [
            ("bad password", h.tls, ["tls", "required", "ca_file", h.cert.cert] + self.auth_args(), "wrong", "535"),
            # Opportunistic without an offer: never the password over plaintext.
            ("no tls for auth", h.plain, ["tls", "opportunistic"] + self.auth_args(), PASSWORD,
             "not sending AUTH over a connection without TLS"),
        ]
        for what, host, args, password, logged in cases:
            with self.subTest(what):
                d = self.forwarder(host, *args, password=password)
                r = self.send(d, what)
                self.assertEqual((r.code, r.esc), (451, "4.7.0"), r.raw)
                self.assertEqual(self.delivered(host, what), [])
                self.assertIn(logged, d.stderr_text())
                self.assertNotIn(PASSWORD, d.stderr_text())

    def test_opportunistic_without_offer_delivers_in_plaintext(self):
        h = self.hosts
        d = self.forwarder(h.plain, "tls", "opportunistic")
        r = self.send(d, "plain")
        self.assertEqual(r.code, 250, r.raw)
        got = self.delivered(h.plain, "plain")
        self.assertEqual(len(got), 1)
        self.assertRegex(got[0].received, r"with ESMTP\b")
        self.assertIn("does not offer STARTTLS: continuing without TLS", d.stderr_text())

    def test_auth_login_and_auth_plaintext(self):
        # t/fixtures/lmtp_server.py as an SMTP next hop that offers only AUTH LOGIN, no TLS:
        # the password goes in plaintext only because auth_plaintext yes says so.
        fx = LmtpFixture("--protocol", "smtp", "--auth-login", "relay:" + PASSWORD)
        self.addCleanup(fx.stop)
        d = self.forwarder(fx, "auth_user", "relay", "auth_pass_file", "{config}/relay_pw", "auth_plaintext", "yes")
        r = self.send(d, "login")
        self.assertEqual(r.code, 250, r.raw)
        self.assertEqual(len(fx.messages()), 1)
        commands = (fx.dir / "out" / "commands.log").read_text()
        self.assertIn("\tAUTH LOGIN\n", commands)
        self.assertLess(commands.index("AUTH LOGIN"), commands.index("MAIL FROM"))
        self.assertNotIn(PASSWORD, d.stderr_text())


class SmtpForwardDsnTest(E2ETestCase):
    """DSN (RFC 3461) parameters: passed on to a next hop that offers DSN (asmtpd, which logs
    them on its "mail from"/"rcpt to" lines), dropped for one that does not (smtp-sink -N,
    whose dumps show the parameters it got)."""

    def send_dsn(self, d):
        c = self.client(d)
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.test> RET=HDRS ENVID=QQ+2B314", 250)
        c.cmd("RCPT TO:<a@example.test> NOTIFY=success,FAILURE ORCPT=rfc822;orig+2Bx@example.test", 250)
        c.cmd("RCPT TO:<b@example.test>", 250)
        c.cmd("DATA", 354)
        c.send(b"Subject: dsn\r\n\r\nbody\r\n.\r\n")
        r = c.read_reply()
        c.cmd("QUIT", 221)
        return r

    def test_passed_on_when_offered(self):
        hop = self.start_daemon(settings={"hostname": SMARTHOST})
        d = self.start_daemon(plugins=["rcpt_ok", f"queue/smtp_forward 127.0.0.1:{hop.port}"])
        r = self.send_dsn(d)
        self.assertEqual(r.code, 250, r.raw)
        self.assertDelivered(hop, 1)
        log = hop.stderr_text()
        self.assertIn("mail from <s@example.test> RET=HDRS ENVID=QQ+2B314\n", log)
        self.assertIn("rcpt to <a@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;orig+2Bx@example.test\n", log)
        self.assertIn("rcpt to <b@example.test>\n", log)
        # Our own log shows them too: plugins and operators see what the client asked for.
        self.assertIn("rcpt to <a@example.test> NOTIFY=SUCCESS,FAILURE", d.stderr_text())

    def test_lmtp_passes_them_on(self):
        fx = LmtpFixture("--dsn")
        self.addCleanup(fx.stop)
        d = self.start_daemon(plugins=["rcpt_ok", f"queue/lmtp {fx.hop}"])
        self.assertEqual(self.send_dsn(d).code, 250)
        commands = (fx.dir / "out" / "commands.log").read_text()
        self.assertIn("\tMAIL FROM:<s@example.test> SIZE=", commands)
        self.assertRegex(commands, r"\tMAIL FROM:<s@example.test> .*RET=HDRS ENVID=QQ\+2B314\n")
        self.assertIn("\tRCPT TO:<a@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;orig+2Bx@example.test\n", commands)
        self.assertIn("\tRCPT TO:<b@example.test>\n", commands)

    def test_dropped_when_not_offered(self):
        sink = SmtpSink("-N")
        self.addCleanup(sink.stop)
        d = self.start_daemon(plugins=["rcpt_ok", f"queue/smtp_forward {sink.hop}"])
        r = self.send_dsn(d)
        self.assertEqual(r.code, 250, r.raw)
        dumps = sink.dumps()
        self.assertEqual(len(dumps), 1)
        mail, rcpts, _ = dumps[0]
        self.assertEqual(mail, "<s@example.test>")
        self.assertEqual(rcpts, ["<a@example.test>", "<b@example.test>"])
        self.assertIn("does not offer DSN: the DSN parameters of", d.stderr_text())


if __name__ == "__main__":
    unittest.main()

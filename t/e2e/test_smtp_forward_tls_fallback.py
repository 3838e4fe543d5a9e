"""test_smtp_forward_tls_fallback.py - queue/smtp_forward at Postfix's may level: a next hop
whose TLS handshake fails (t/fixtures/lmtp_server.py --starttls-garbage: it offers STARTTLS,
says 220, then answers the ClientHello with bytes that are not TLS) gets the message over one
new plaintext connection, and the next message tries TLS again; so does one whose handshake
never ends (--starttls-silent: the ClientHello goes unanswered until the timeout); the
verifying levels never fall back (451 4.7.5, nothing delivered).

The oracle is the next hop's own record: which connection sent which command (commands.log)
and which connection delivered each stored message. Owner: next-hop hand-off (queue/smtp_forward).
"""

from harness import E2ETestCase
from test_smtp_forward import LmtpFixture


class SmtpForwardTlsFallbackTest(E2ETestCase):

    def next_hop(self, mode="--starttls-garbage"):
        fx = LmtpFixture("--protocol", "smtp", mode)
        self.addCleanup(fx.stop)
        return fx

    def forwarder(self, fx, *args):
        line = " ".join(["queue/smtp_forward", fx.hop, "timeout", "3"] + list(args))
        return self.start_daemon(plugins=["rcpt_ok", line])

    def send(self, d, subject):
        c = self.client(d)
        c.ehlo()
        r = c.send_mail(rcpts=("a@example.test",), body=f"Subject: {subject}\r\n\r\nbody\r\n".encode())
        c.cmd("QUIT", 221)
        return r

    def commands(self, fx):
        out = {}
        for line in (fx.dir / "out" / "commands.log").read_text().splitlines():
            conn, _, cmd = line.partition("\t")
            out.setdefault(int(conn), []).append(cmd.split(" ")[0])
        return out

    def test_may_retries_once_in_plaintext(self):
        fx = self.next_hop()
        d = self.forwarder(fx, "tls", "may")
        for subject in ("first", "second"):
            r = self.send(d, subject)
            self.assertEqual(r.code, 250, r.raw)
        msgs = fx.messages()
        self.assertEqual(len(msgs), 2)
        # Each message: a connection whose handshake failed, then a plaintext one that delivered
        # it and was not reused (the second message tried TLS again on a third connection).
        self.assertEqual([meta["conn"] for _, meta in msgs], [2, 4])
        cmds = self.commands(fx)
        self.assertEqual(cmds[1], ["EHLO", "STARTTLS"])
        self.assertEqual(cmds[3], ["EHLO", "STARTTLS"])
        self.assertNotIn("STARTTLS", cmds[2])
        self.assertIn("MAIL", cmds[2])
        log = d.stderr_text()
        self.assertEqual(log.count("TLS handshake failed at the may level (tls opportunistic, tls_verify no): "
                                   "retrying once over a new plaintext connection"), 2)
        self.assertIn("plaintext retry after a failed TLS handshake (tls may): no STARTTLS", log)
        self.assertIn("STARTTLS with 127.0.0.1: TLS handshake", log)

    def test_may_retries_in_plaintext_after_a_handshake_that_times_out(self):
        fx = self.next_hop("--starttls-silent")
        d = self.forwarder(fx, "tls", "may")
        r = self.send(d, "silent")
        self.assertEqual(r.code, 250, r.raw)
        [(_, meta)] = fx.messages()
        self.assertEqual(meta["conn"], 2)   # the first connection hung in the handshake
        cmds = self.commands(fx)
        self.assertEqual(cmds[1], ["EHLO", "STARTTLS"])
        self.assertNotIn("STARTTLS", cmds[2])
        self.assertIn("retrying once over a new plaintext connection", d.stderr_text())

    def test_verify_levels_do_not_fall_back(self):
        fx = self.next_hop()
        for args in (["tls", "verify"], ["tls", "opportunistic", "tls_verify", "yes"]):
            with self.subTest(" ".join(args)):
                d = self.forwarder(fx, *args)
                r = self.send(d, "verified")
                self.assertEqual(r.code, 451, r.raw)
                self.assertEqual(r.esc, "4.7.5")
                self.assertNotIn("retrying once", d.stderr_text())
                self.assertIn("STARTTLS with 127.0.0.1: TLS handshake", d.stderr_text())
        self.assertEqual(fx.messages(), [])
        cmds = self.commands(fx)
        self.assertEqual(len(cmds), 2)   # one connection each, both ended at the handshake
        self.assertTrue(all("MAIL" not in c for c in cmds.values()), cmds)

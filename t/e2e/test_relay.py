"""test_relay.py - who may receive mail: rcpt_ok, relay, check_badmailfrom, check_badrcptto, max_rcpts.

Owner: tooling (t/e2e/).
"""

import unittest

from harness import E2ETestCase


def body(subject):
    return f"Subject: {subject}\r\n\r\nx\r\n".encode()


class RelayTest(E2ETestCase):

    def test_rcpt_ok_local_and_foreign(self):
        d = self.start_daemon(files={"rcpthosts": "example.test\n.sub.test\n"})
        c = self.client(d)
        c.ehlo()
        c.cmd("MAIL FROM:<s@elsewhere.test>", 250)
        c.cmd("RCPT TO:<a@example.test>", 250, "2.1.5")
        c.cmd("RCPT TO:<B@EXAMPLE.TEST>", 250)          # domains are case-insensitive
        c.cmd("RCPT TO:<c@host.sub.test>", 250)          # ".sub.test" covers subdomains
        c.cmd("RCPT TO:<c@sub.test>", 550, "5.7.1")      # ... but not sub.test itself
        c.cmd("RCPT TO:<x@foreign.test>", 550, "5.7.1")
        c.cmd("RCPT TO:<x@example.test.evil>", 550, "5.7.1")
        c.cmd("RCPT TO:<postmaster>", 250)               # RFC 5321 §4.5.1
        c.cmd("RCPT TO:<x@mx.e2e.test>", 250)             # `me` is always local
        c.cmd("DATA", 354)
        c.send(body("local") + b".\r\n")
        c.expect(250)
        self.assertDelivered(d, 1)

    def test_no_rcpt_plugin_fails_closed(self):
        d = self.start_daemon(plugins=["queue/maildir {maildir}"])
        c = self.client(d)
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.test>", 250)
        c.cmd("RCPT TO:<a@example.test>", 450, "4.7.1")
        c.cmd("DATA", (503, 554))
        self.assertDelivered(d, 0)

    def test_relayclients_may_relay(self):
        d = self.start_daemon(plugins=["relay", "rcpt_ok", "queue/maildir {maildir}"],
                              files={"relayclients": "# loopback relays\n127.0.0.1\n"})
        c = self.client(d)
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.test>", 250)
        c.cmd("RCPT TO:<x@foreign.test>", 250)
        c.cmd("DATA", 354)
        c.send(body("relayed") + b".\r\n")
        c.expect(250)
        [m] = self.assertDelivered(d, 1)
        self.assertIn("x@foreign.test", m.received)   # "for <x@foreign.test>" (one recipient)

    def test_relayclients_cidr_and_norelayclients(self):
        d = self.start_daemon(plugins=["relay", "rcpt_ok", "queue/maildir {maildir}"],
                              files={"relayclients": "127.0.0.0/8\n", "norelayclients": "127.0.0.1\n"})
        c = self.client(d)
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.test>", 250)
        c.cmd("RCPT TO:<x@foreign.test>", 550, "5.7.1")   # norelayclients wins
        c.cmd("RCPT TO:<a@example.test>", 250)
        self.assertDelivered(d, 0)

    def test_not_a_relay_client_without_file(self):
        d = self.start_daemon(plugins=["relay", "rcpt_ok", "queue/maildir {maildir}"],
                              files={"relayclients": "192.0.2.0/24\n10.\n"})
        c = self.client(d)
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.test>", 250)
        c.cmd("RCPT TO:<x@foreign.test>", 550, "5.7.1")

    def test_badmailfrom(self):
        d = self.start_daemon(plugins=["check_badmailfrom", "rcpt_ok", "queue/maildir {maildir}"],
                              files={"badmailfrom": "bad@evil.test\n@spam.test Go away spammer\n"})
        c = self.client(d)
        c.ehlo()
        for sender in ("bad@evil.test", "BAD@Evil.Test", "anyone@spam.test"):
            r = c.cmd(f"MAIL FROM:<{sender}>", (250, 550))
            if r.code == 250:
                # Refusing at RCPT (qpsmtpd style) is fine too, as long as nothing gets through.
                c.cmd("RCPT TO:<a@example.test>", 550)
                c.cmd("DATA", (503, 554))
                c.cmd("RSET", 250)
        r = c.cmd("MAIL FROM:<x@spam.test>", (250, 550))
        if r.code == 550:
            self.assertIn("Go away spammer", r.text)
        c.cmd("RSET", 250)
        c.cmd("MAIL FROM:<good@evil.test>", 250)
        c.cmd("RCPT TO:<a@example.test>", 250)
        c.cmd("RSET", 250)
        c.cmd("MAIL FROM:<x@sub.spam.test>", 250)          # a domain entry is not a suffix
        c.cmd("RSET", 250)
        c.cmd("MAIL FROM:<>", 250)                         # never matches the null sender
        self.assertDelivered(d, 0)

    def test_badrcptto(self):
        d2 = self.start_daemon(plugins=["check_badrcptto", "rcpt_ok", "queue/maildir {maildir}"],
                               files={"badrcptto": "bad@example.test\n@closed.test\n",
                                      "rcpthosts": "example.test\nclosed.test\n"})
        c = self.client(d2)
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.test>", 250)
        c.cmd("RCPT TO:<bad@example.test>", 550)
        c.cmd("RCPT TO:<Bad@Example.Test>", 550)
        c.cmd("RCPT TO:<x@closed.test>", 550)
        c.cmd("RCPT TO:<good@example.test>", 250)
        c.cmd("DATA", 354)
        c.send(body("badrcptto") + b".\r\n")
        c.expect(250)
        [m] = self.assertDelivered(d2, 1)
        self.assertIn("good@example.test", m.received)
        self.assertNotIn("bad@example.test", m.received)

    def test_max_rcpts(self):
        d = self.start_daemon(settings={"limits": {"max_rcpts": 3}})
        c = self.client(d)
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.test>", 250)
        for i in range(3):
            c.cmd(f"RCPT TO:<r{i}@example.test>", 250)
        c.cmd("RCPT TO:<r3@example.test>", 452, "4.5.3")
        c.cmd("RCPT TO:<r4@example.test>", 452, "4.5.3")
        c.cmd("DATA", 354)
        c.send(body("three recipients") + b".\r\n")
        c.expect(250)
        [m] = self.assertDelivered(d, 1)
        # With more than one recipient the Received field names none of them.
        for i in range(5):
            self.assertNotIn(f"r{i}@example.test", m.received)

    def test_max_rcpts_one_keeps_the_first(self):
        d = self.start_daemon(settings={"limits": {"max_rcpts": 1}})
        c = self.client(d)
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.test>", 250)
        c.cmd("RCPT TO:<first@example.test>", 250)
        c.cmd("RCPT TO:<second@example.test>", 452, "4.5.3")
        c.cmd("DATA", 354)
        c.send(body("one recipient") + b".\r\n")
        c.expect(250)
        [m] = self.assertDelivered(d, 1)
        self.assertRegex(m.received, r"\bfor <first@example\.test>")
        self.assertNotIn("second@example.test", m.received)


if __name__ == "__main__":
    unittest.main()

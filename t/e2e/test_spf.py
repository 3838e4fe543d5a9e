"""test_spf.py - sender_permitted_from end to end: the real daemon, the test DNS server with
the zones of spf_support.py, clients arriving from chosen addresses through a PROXY listener.

Covers every SPF result (pass, fail, softfail, neutral, none, permerror, temperror) at every
`reject` level 0..6 against qpsmtpd's table, the Received-SPF field (RFC 7208 §9.1), the
explanation (exp=) in the 550, immune sessions (relay client, authenticated), and temperror
from a DNS server that never answers, arriving before the plugin timeout.
Owner: e2e tests of issue 11 (SPF).
"""

import time

from harness import E2ETestCase
from spf_support import ZONES, proxied, run_case, start_spf_daemon, zone_server
from tls_support import b64, crypt_hash

HELO = "client.spf.test"
IP = "192.0.2.1"

# Sender domain for each result, seen from 192.0.2.1.
RESULTS = {
    "pass": "u@pass.spf.test",
    "fail": "u@fail.spf.test",
    "softfail": "u@soft.spf.test",
    "neutral": "u@neutral.spf.test",
    "none": "u@nothing.spf.test",
    "permerror": "u@syntax.spf.test",
    "temperror": "u@tempfail.spf.test",
}
# qpsmtpd's sender_permitted_from: per result, the reply code at reject 0..6.
TABLE = {
    "pass":      [250, 250, 250, 250, 250, 250, 250],
    "fail":      [250, 250, 451, 550, 550, 550, 550],
    "softfail":  [250, 250, 250, 451, 550, 550, 550],
    "neutral":   [250, 250, 250, 250, 250, 550, 550],
    "none":      [250, 250, 250, 250, 250, 250, 550],
    "permerror": [250, 250, 250, 250, 451, 451, 550],
    "temperror": [250, 250, 451, 451, 451, 451, 451],
}


class SpfTest(E2ETestCase):

    def test_every_result_at_every_reject_level(self):
        dns = zone_server(self)
        for level in range(7):
            d, port = start_spf_daemon(self, level, dns)
            for result, sender in RESULTS.items():
                with self.subTest(level=level, result=result):
                    reply, header = run_case(d, port, IP, HELO, sender)
                    self.assertEqual(reply.code, TABLE[result][level], reply)
                    if reply.code == 250:
                        self.assertIsNotNone(header)
                        self.assertEqual(header.split()[0], result, header)
                    else:
                        self.assertIn("SPF - ", reply.text)
                        self.assertEqual(reply.esc[2:], "7.24" if result.endswith("error") else "7.23")
                        self.assertEqual(reply.esc[0], str(reply.code)[0])
            d.stop()

    def test_received_spf_field(self):
        dns = zone_server(self)
        d, port = start_spf_daemon(self, 1, dns)
        _, header = run_case(d, port, IP, HELO, "u@pass.spf.test")
        self.assertEqual(header, 'pass (mx.e2e.test: domain of u@pass.spf.test designates 192.0.2.1 as '
                                 'permitted sender) client-ip=192.0.2.1; envelope-from="u@pass.spf.test"; '
                                 'helo=client.spf.test; receiver=mx.e2e.test; identity=mailfrom; '
                                 'mechanism="ip4:192.0.2.0/24";')
        _, header = run_case(d, port, "2001:db8::25", "mail.spf.test", "")
        self.assertTrue(header.startswith("fail (mx.e2e.test: domain of postmaster@mail.spf.test does not "
                                          "designate 2001:db8::25 as permitted sender)"), header)
        self.assertIn('envelope-from=""; helo=mail.spf.test;', header)
        self.assertIn("identity=helo;", header)
        _, header = run_case(d, port, IP, HELO, "u@two.spf.test")
        self.assertIn('problem="more than one SPF record at two.spf.test";', header)
        self.assertIn("spf permerror for u@two.spf.test (mailfrom)", d.stderr_text())

    def test_explanation_in_the_rejection(self):
        dns = zone_server(self)
        d, port = start_spf_daemon(self, 3, dns)
        reply, _ = run_case(d, port, IP, HELO, "u@exp.spf.test")
        self.assertEqual((reply.code, reply.esc), (550, "5.7.23"))
        self.assertEqual(reply.text, "5.7.23 SPF - forgery: 192.0.2.1 may not send for exp.spf.test")

    def test_immune_sessions_are_not_checked(self):
        dns = zone_server(self)
        users = f"alice:{crypt_hash('secret')}\n"
        d, port = start_spf_daemon(self, 6, dns, extra_plugins=["relay", "auth/flat_file"],
                                   files={"relayclients": "198.51.100.50\n", "flat_auth_pw": users},
                                   settings={"tls_before_auth": False})
        before = dns.queries("fail.spf.test")
        reply, header = run_case(d, port, "198.51.100.50", HELO, "u@fail.spf.test")
        self.assertEqual(reply.code, 250)
        self.assertIsNone(header)
        c = proxied(port, "203.0.113.9", HELO)
        c.cmd("AUTH PLAIN " + b64("\0alice\0secret"), 235)
        c.cmd("MAIL FROM:<u@fail.spf.test>", 250)
        c.close()
        self.assertEqual(dns.queries("fail.spf.test"), before, "an immune session was checked")
        reply, _ = run_case(d, port, "203.0.113.9", HELO, "u@fail.spf.test")
        self.assertEqual(reply.code, 550)   # the same client without AUTH is checked

    def test_dead_dns_is_temperror_before_the_plugin_timeout(self):
        dns = zone_server(self, ZONES + "\n!drop dead.spf.test\n!delay slow.spf.test 30\n")
        # The resolver would wait 20 s: only the plugin's budget (80% of 5 s) can end these,
        # a second before the chain's own plugin timeout would answer "plugin timeout".
        slow_resolver = {"servers": [dns.address], "timeout": 20, "attempts": 1}
        d, port = start_spf_daemon(self, 2, dns, settings={"timeouts": {"plugin": 5}, "dns": slow_resolver})
        for sender in ("u@dead.spf.test", "u@slow.spf.test"):
            with self.subTest(sender=sender):
                c = proxied(port, IP, HELO)
                start = time.monotonic()
                reply = c.cmd(f"MAIL FROM:<{sender}>", 451, timeout=10)
                took = time.monotonic() - start
                c.close()
                self.assertIn("SPF - temperror", reply.text)
                self.assertGreater(took, 3.5)
                self.assertLess(took, 5.0)
        d1, port1 = start_spf_daemon(self, 1, dns)
        reply, header = run_case(d1, port1, IP, HELO, "u@dead.spf.test")
        self.assertEqual(reply.code, 250)
        self.assertTrue(header.startswith("temperror "), header)


if __name__ == "__main__":
    import unittest
    unittest.main()

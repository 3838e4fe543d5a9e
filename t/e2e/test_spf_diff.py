"""test_spf_diff.py - the SPF differential run: the same zones and (client ip, HELO, MAIL FROM)
cases through Debian's python3-spf (pyspf 2.0.14, t/e2e/spf_pyspf.py) and through asmtpd's
sender_permitted_from (reject 0: every message is delivered with its Received-SPF field). Both
must give the same result on every case, except the cases listed in DIFFERENCES, where each
side must give exactly the result written there, for the reason written there.
Owner: e2e tests of issue 11 (SPF).
"""

import json
import subprocess
from pathlib import Path

from harness import E2ETestCase
from spf_support import RECEIVER, run_case, start_spf_daemon, zone_server

HERE = Path(__file__).resolve().parent
HELO = "client.spf.test"

# (client ip, HELO, MAIL FROM) -> what RFC 7208 rule it exercises.
CASES = [
    ("192.0.2.1", HELO, "u@pass.spf.test"),          # §5.6 ip4 match
    ("198.51.100.9", HELO, "u@pass.spf.test"),       # no match, -all
    ("2001:db8::1", HELO, "u@pass.spf.test"),        # §5.6 ip6 match
    ("2001:db9::1", HELO, "u@pass.spf.test"),        # ip6 outside
    ("192.0.2.1", HELO, "u@fail.spf.test"),          # -all
    ("192.0.2.1", HELO, "u@soft.spf.test"),          # ~all
    ("192.0.2.1", HELO, "u@neutral.spf.test"),       # ?all
    ("192.0.2.1", HELO, "u@empty.spf.test"),         # §4.7 default neutral
    ("192.0.2.1", HELO, "u@nothing.spf.test"),       # §4.3 NXDOMAIN: none
    ("192.0.2.1", HELO, "u@other.spf.test"),         # §4.5 no v=spf1 record: none
    ("192.0.2.1", HELO, "u@two.spf.test"),           # §4.5 two records: permerror
    ("192.0.2.1", HELO, "u@syntax.spf.test"),        # §4.6 unknown mechanism: permerror
    ("192.0.2.1", HELO, "u@badcidr.spf.test"),       # §5.6 /33: permerror
    ("198.51.100.7", HELO, "u@split.spf.test"),      # §3.3 strings of one TXT record joined
    ("192.0.2.10", HELO, "u@a.spf.test"),            # §5.3 a
    ("192.0.2.11", HELO, "u@a.spf.test"),
    ("2001:db8::10", HELO, "u@a.spf.test"),          # §5.3 AAAA for IPv6 clients
    ("192.0.2.14", HELO, "u@acidr.spf.test"),        # §5.3 a/28
    ("192.0.2.17", HELO, "u@acidr.spf.test"),
    ("2001:db8::ffff", HELO, "u@acidr.spf.test"),    # //64
    ("198.51.100.2", HELO, "u@mx.spf.test"),         # §5.4 mx
    ("198.51.100.3", HELO, "u@mx.spf.test"),
    ("192.0.2.1", HELO, "u@incl.spf.test"),          # §5.2 include pass
    ("198.51.100.9", HELO, "u@incl.spf.test"),       # include fail -> no match -> ~all
    ("192.0.2.1", HELO, "u@inclfail.spf.test"),
    ("192.0.2.1", HELO, "u@inclnone.spf.test"),      # include of no record: permerror
    ("192.0.2.1", HELO, "u@inclsyntax.spf.test"),    # include's permerror propagates
    ("192.0.2.1", HELO, "u@redir.spf.test"),         # §6.1 redirect
    ("198.51.100.9", HELO, "u@redir.spf.test"),
    ("192.0.2.1", HELO, "u@redirnone.spf.test"),     # redirect to no record: permerror
    ("203.0.113.5", HELO, "u@redirmac.spf.test"),    # redirect with a macro
    ("192.0.2.1", HELO, "u@exists.spf.test"),        # §5.7 exists with %{ir}.%{v}
    ("192.0.2.2", HELO, "u@exists.spf.test"),
    ("192.0.2.1", HELO, "alice@macro.spf.test"),     # §7 %{l}.%{o}
    ("192.0.2.1", HELO, "bob@macro.spf.test"),
    ("192.0.2.77", HELO, "u@ptr.spf.test"),          # §5.5 validated ptr
    ("192.0.2.78", HELO, "u@ptr.spf.test"),          # PTR not confirmed by A
    ("192.0.2.25", "mail.spf.test", ""),             # §2.4 null sender: postmaster@HELO
    ("192.0.2.26", "mail.spf.test", ""),
    ("192.0.2.1", HELO, "u@ten.spf.test"),           # §4.6.4 ten lookups: fine
    ("192.0.2.1", HELO, "u@toomany.spf.test"),       # eleven: permerror
    ("203.0.113.10", HELO, "u@redircount.spf.test"),  # the 10th lookup matches; redirect= unused
    ("192.0.2.1", HELO, "u@voids2.spf.test"),        # two void lookups: fine
    ("192.0.2.1", HELO, "u@voids3.spf.test"),        # three: permerror
    ("192.0.2.1", HELO, "u@exp.spf.test"),           # §6.2 exp=
    ("192.0.2.1", HELO, "u@servfail.spf.test"),      # §5 SERVFAIL in a mechanism
    ("192.0.2.1", HELO, "u@tempfail.spf.test"),      # §4.4 SERVFAIL on the record
]

# Cases where the two implementations are expected to differ: (asmtpd, pyspf, why).
DIFFERENCES = {
    ("203.0.113.10", HELO, "u@redircount.spf.test"): (
        "pass", "permerror",
        "pyspf counts redirect= toward the 10 DNS-querying terms when it parses the record, so ten "
        "a: mechanisms plus the redirect make 11 before the tenth a: is evaluated; RFC 7208 §4.6.4 "
        "counts terms as they are evaluated, and §6.1 evaluates redirect= only when nothing "
        "matched, so asmtpd reaches a:h10 as the tenth lookup and passes"),
    ("192.0.2.1", HELO, "u@servfail.spf.test"): (
        "temperror", "pass",
        "pydns hands pyspf a SERVFAIL answer over UDP as an empty answer (it only checks the RCODE "
        "after a TCP retry), so pyspf counts a:broken as a void lookup and goes on to ip4; RFC 7208 "
        "§5 says a DNS error ends check_host() with temperror, which asmtpd does"),
    ("192.0.2.1", HELO, "u@tempfail.spf.test"): (
        "temperror", "none",
        "same pydns behaviour on the record lookup itself: RFC 7208 §4.4 makes a DNS error "
        "fetching the record temperror; pyspf sees no records and says none"),
}


def pyspf_results(dns):
    req = {"port": dns.port, "receiver": RECEIVER, "timeout": 3,
           "cases": [{"ip": ip, "helo": helo, "sender": sender} for ip, helo, sender in CASES]}
    r = subprocess.run(["/usr/bin/python3", str(HERE / "spf_pyspf.py")], input=json.dumps(req),
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return [res for res, _ in json.loads(r.stdout)]


class SpfDifferentialTest(E2ETestCase):

    def test_same_results_as_pyspf(self):
        dns = zone_server(self)
        reference = pyspf_results(dns)
        d, port = start_spf_daemon(self, 0, dns)
        agreed = 0
        for case, ref in zip(CASES, reference):
            with self.subTest(case=case):
                reply, header = run_case(d, port, *case)
                self.assertEqual(reply.code, 250, reply)
                self.assertIsNotNone(header, "no Received-SPF field")
                ours = header.split()[0]
                if case in DIFFERENCES:
                    want_ours, want_ref, _why = DIFFERENCES[case]
                    self.assertEqual((ours, ref), (want_ours, want_ref))
                else:
                    self.assertEqual(ours, ref, f"asmtpd {header!r} vs pyspf {ref}")
                    agreed += 1
        self.assertEqual(agreed, len(CASES) - len(DIFFERENCES))
        # Every result of RFC 7208 §2.6 shows up at least once in the run.
        self.assertEqual(set(reference) | {d[0] for d in DIFFERENCES.values()},
                         {"pass", "fail", "softfail", "neutral", "none", "permerror", "temperror"})


if __name__ == "__main__":
    import unittest
    unittest.main()

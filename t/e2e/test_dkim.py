"""test_dkim.py - the dkim plugin end to end: messages signed by an independent implementation
(dkimpy, Debian's python3-dkim, through t/fixtures/dkim/dkimpy_corpus.py under /usr/bin/python3)
sent through the real daemon over SMTP, keys served by the loopback test DNS server.

- The whole dkimpy corpus (every canonicalization, rsa-sha256 2048 and ed25519-sha256, l=,
  changed/refolded/reordered headers, changed bodies, revoked, missing and 512-bit keys): the
  plugin's verdict, read from its log line per signature, equals dkimpy's on every message
  (pass vs anything else), and the named cases give the named results.
- reject 1 refuses a failing message with 550 5.7.20 and queues nothing; a good one is queued.
- A key lookup that never answers is temperror before the plugin timeout, accepted even with
  reject 1; an unsigned message is "none"; relay clients are not verified.
Owner: e2e tests of issue 12 (DKIM).
"""

import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from dns_support import DnsServer
from harness import E2ETestCase, dot_stuff

HERE = Path(__file__).resolve().parent
CORPUS_SCRIPT = HERE.parent / "fixtures" / "dkim" / "dkimpy_corpus.py"
VERDICT = re.compile(r"dkim: (pass|fail|permerror|temperror) (.*)$", re.M)


def zones_from(keys_txt, extra=""):
    """keys.txt ("name<TAB>record" lines) as a zone; long records split into 200-octet strings."""
    lines = ["$TTL 60", "$ORIGIN example.org.", "@ IN SOA ns.example.org. h.example.org. 1 60 60 60 30"]
    for line in keys_txt.read_text().splitlines():
        name, _, record = line.partition("\t")
        strings = " ".join('"%s"' % record[i:i + 200] for i in range(0, max(len(record), 1), 200))
        lines.append(f"{name}. IN TXT {strings}")
    return "\n".join(lines) + "\n" + extra


class DkimTest(E2ETestCase):

    @classmethod
    def setUpClass(cls):
        cls.corpus = Path(tempfile.mkdtemp(prefix="asmtpd-dkim-e2e-"))
        subprocess.run(["/usr/bin/python3", str(CORPUS_SCRIPT), "make", str(cls.corpus)], check=True,
                       capture_output=True, timeout=120)
        cls.expected = dict(line.split("\t") for line in (cls.corpus / "cases.txt").read_text().splitlines())

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.corpus, ignore_errors=True)

    def message(self, case):
        """The case as DATA can carry it: a last line without CRLF gets one (the DKIM body
        canonicalizations add it too, so the verdict cannot change)."""
        raw = (self.corpus / f"{case}.eml").read_bytes()
        return raw if raw.endswith(b"\r\n") else raw + b"\r\n"

    def dns(self, extra=""):
        server = DnsServer(zones_from(self.corpus / "keys.txt", extra)).start()
        self.addCleanup(server.stop)
        return server

    def daemon(self, dkim_args="", dns=None, plugins_before=(), files=None, settings=None):
        dns = dns or self.dns()
        over = {"dns": {"servers": [dns.address], "timeout": 20, "attempts": 1}}
        over.update(settings or {})
        plugins = list(plugins_before) + [("dkim " + dkim_args).strip(), "rcpt_ok", "queue/maildir {maildir}"]
        return self.start_daemon(plugins=plugins, files=files, settings=over)

    def verdicts(self, d):
        return VERDICT.findall(d.stderr_text())

    def send(self, c, d, case, code=250):
        """One message; returns the dkim log lines it produced (result, rest)."""
        before = len(self.verdicts(d))
        reply = c.send_mail(sender="joe@example.org", body=dot_stuff(self.message(case)))
        self.assertEqual(reply.code, code, f"{case}: {reply}")
        deadline = time.monotonic() + 5
        while len(self.verdicts(d)) == before and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.verdicts(d)[before:]

    def test_verdicts_equal_dkimpy_on_the_corpus(self):
        d = self.daemon()
        c = self.client(d)
        c.ehlo()
        mismatches = []
        ours = {}
        for case in sorted(self.expected):
            lines = self.send(c, d, case)
            self.assertEqual(len(lines), 1, f"{case}: {lines}")
            ours[case] = lines[0]
            if (lines[0][0] == "pass") != (self.expected[case] == "pass"):
                mismatches.append(f"{case}: dkimpy {self.expected[case]}, asmtpd {lines[0]}")
        c.cmd("QUIT", 221)
        self.assertEqual(mismatches, [])
        self.assertGreaterEqual(len(ours), 200)
        self.assertEqual(sum(1 for v in ours.values() if v[0] == "pass"),
                         sum(1 for v in self.expected.values() if v == "pass"))
        # The named results, with what the log line says about the signature.
        self.assertEqual(ours["plain_relaxed-relaxed_rsa"],
                         ("pass", "d=example.org s=rsa a=rsa-sha256 i=@example.org"))
        self.assertEqual(ours["eightbit_simple-simple_ed"],
                         ("pass", "d=example.org s=ed a=ed25519-sha256 i=@example.org"))
        self.assertEqual(ours["large_relaxed-relaxed_length_appended"][0], "pass")
        self.assertEqual(ours["plain_relaxed-relaxed_body_changed"],
                         ("fail", "d=example.org s=rsa a=rsa-sha256 i=@example.org (body hash did not verify)"))
        self.assertEqual(ours["plain_simple-simple_header_changed"][0], "fail")
        self.assertEqual(ours["plain_missing_key"],
                         ("permerror", "d=example.org s=missing a=rsa-sha256 i=@example.org (no key for signature)"))
        self.assertEqual(ours["plain_revoked"][0], "permerror")
        self.assertEqual(ours["plain_short_key"][0], "permerror")
        # Nothing was refused under reject 0, and the plugin added no header.
        messages = d.maildir.messages()
        self.assertEqual(len(messages), len(self.expected))
        for m in messages[:5]:
            self.assertNotIn(b"Authentication-Results", m.raw)

    def test_reject_refuses_a_failing_message_and_queues_nothing(self):
        d = self.daemon("reject 1")
        c = self.client(d)
        c.ehlo()
        for case in ("plain_relaxed-relaxed_body_changed", "large_simple-simple_body_changed", "plain_missing_key"):
            reply_lines = self.send(c, d, case, code=550)
            self.assertNotEqual(reply_lines[0][0], "pass")
        self.assertEqual(d.maildir.count(), 0)
        self.assertIn("dkim: fail, 1 signature(s), none passed", d.stderr_text())
        c.cmd("RSET", 250)
        self.assertEqual(self.send(c, d, "plain_relaxed-relaxed_ed")[0][0], "pass")
        self.assertEqual(d.maildir.count(), 1)
        # The refusal's text and code.
        c.cmd("MAIL FROM:<joe@example.org>", 250)
        c.cmd("RCPT TO:<a@example.test>", 250)
        c.cmd("DATA", 354)
        c.send(dot_stuff(self.message("folded_relaxed-simple_body_changed")) + b".\r\n")
        reply = c.expect(550, "5.7.20")
        self.assertIn("No passing DKIM signature found", reply.text)
        c.cmd("QUIT", 221)
        self.assertEqual(d.maildir.count(), 1)

    def test_key_lookup_timeout_is_temperror_and_accepted(self):
        dns = self.dns("!drop rsa._domainkey.example.org\n")
        d = self.daemon("reject 1 timeout 1", dns=dns, settings={"timeouts": {"plugin": 5}})
        c = self.client(d)
        c.ehlo()
        start = time.monotonic()
        lines = self.send(c, d, "plain_relaxed-relaxed_rsa")
        took = time.monotonic() - start
        self.assertEqual(lines, [("temperror",
                                  "d=example.org s=rsa a=rsa-sha256 i=@example.org (key lookup failed (timeout))")])
        self.assertGreater(took, 0.9)
        self.assertLess(took, 4.5)
        self.assertEqual(self.send(c, d, "plain_relaxed-relaxed_ed")[0][0], "pass")   # other keys still answer
        c.cmd("QUIT", 221)
        self.assertEqual(d.maildir.count(), 2)

    def test_unsigned_message_is_none(self):
        d = self.daemon("reject 1")
        c = self.client(d)
        c.ehlo()
        reply = c.send_mail(body=b"From: x@example.test\r\nSubject: plain\r\n\r\nno signature\r\n")
        self.assertEqual(reply.code, 250)
        self.assertIsNotNone(d.wait_for_log(r"dkim: none, not signed"))
        c.cmd("QUIT", 221)

    def test_relay_clients_are_not_verified(self):
        d = self.daemon("reject 1", plugins_before=["relay"], files={"relayclients": "127.0.0.1\n"})
        c = self.client(d)
        c.ehlo()
        reply = c.send_mail(sender="joe@example.org", body=dot_stuff(self.message("plain_relaxed-relaxed_body_changed")))
        self.assertEqual(reply.code, 250)
        self.assertIn("dkim: skip, immune (relay client)", d.stderr_text())
        self.assertEqual(self.verdicts(d), [])
        c.cmd("QUIT", 221)
        self.assertEqual(d.maildir.count(), 1)

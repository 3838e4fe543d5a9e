"""test_dmarc.py - the dmarc plugin end to end: the real daemon with sender_permitted_from,
dkim and dmarc, zones served by the loopback test DNS server, messages DKIM-signed by dkimpy
(Debian's python3-dkim, run under /usr/bin/python3) with an RSA key the test makes.

Every case is one org domain under .test (the public suffix list's default rule makes each
its own organizational domain): SPF and DKIM alignment relaxed and strict, p=none /
quarantine / reject, a subdomain under sp, a domain without a record, pct=0 vs pct=100, a
record lookup that never answers (temperror: accepted, deferred with reject_type temp), the
whitelist overrides (trusted_forwarder, mailing_list), several From fields, and the note and
log line the Authentication-Results writer and aggregate reports read.
Owner: e2e tests of issue 12 (DMARC).
"""

import base64
import re
import subprocess
import tempfile
import time
from pathlib import Path

from dns_support import DnsServer
from harness import E2ETestCase, dot_stuff

SIGNER = r"""
import sys, dkim
domain, key_path = sys.argv[1], sys.argv[2]
msg = sys.stdin.buffer.read()
sig = dkim.sign(msg, b"sel", domain.encode(), open(key_path, "rb").read(),
                include_headers=[b"from", b"to", b"subject"])
sys.stdout.buffer.write(sig + msg)
"""

SPF_LOCAL = '"v=spf1 ip4:127.0.0.1 -all"'
# org domain -> its _dmarc record (None: no record)
RECORDS = {
    "rel.test": "v=DMARC1; p=reject",
    "strict.test": "v=DMARC1; p=reject; adkim=s; aspf=s",
    "quar.test": "v=DMARC1; p=quarantine",
    "mon.test": "v=DMARC1; p=none; rua=mailto:dmarc@mon.test",
    "sub.test": "v=DMARC1; p=none; sp=reject",
    "norecord.test": None,
    "pct0.test": "v=DMARC1; p=reject; pct=0",
    "pct100.test": "v=DMARC1; p=reject; pct=100",
    "slow.test": "v=DMARC1; p=reject",
    "other.test": None,
}


def zones(public_key):
    out = []
    for org, record in RECORDS.items():
        out += ["$TTL 60", f"$ORIGIN {org}.", f"@ IN SOA ns.{org}. h.{org}. 1 60 60 60 30",
                f"@ IN TXT {SPF_LOCAL if org != 'other.test' else chr(34) + 'v=spf1 -all' + chr(34)}",
                f"bounce IN TXT {SPF_LOCAL}", "news IN A 192.0.2.1",
                f'sel._domainkey IN TXT "v=DKIM1; k=rsa; p={public_key}"',
                f'sel._domainkey.mail IN TXT "v=DKIM1; k=rsa; p={public_key}"']
        if record:
            out.append(f'_dmarc IN TXT "{record}"')
    out.append("!drop _dmarc.slow.test")
    return "\n".join(out) + "\n"


def message(author, extra_headers=""):
    return (f"From: Author <{author}>\r\nTo: a@example.test\r\n{extra_headers}Subject: dmarc\r\n"
            "\r\nBody text.\r\n").encode()


class DmarcTest(E2ETestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="asmtpd-dmarc-e2e-")
        key = Path(cls.tmp.name) / "key.pem"
        subprocess.run(["openssl", "genrsa", "-out", str(key), "1024"], check=True, capture_output=True)
        der = subprocess.run(["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"], check=True,
                             capture_output=True).stdout
        cls.key = key
        cls.public_key = base64.b64encode(der).decode()

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def sign(self, raw, domain):
        return subprocess.run(["/usr/bin/python3", "-c", SIGNER, domain, str(self.key)], input=raw, check=True,
                              capture_output=True, timeout=30).stdout

    def daemon(self, dmarc_args="", before=(), files=None, plugin_timeout=None):
        dns = DnsServer(zones(self.public_key)).start()
        self.addCleanup(dns.stop)
        settings = {"dns": {"servers": [dns.address], "timeout": 20, "attempts": 1}}
        if plugin_timeout:
            settings["timeouts"] = {"plugin": plugin_timeout}
        plugins = list(before) + ["sender_permitted_from", "dkim", ("dmarc sample_seed 7 " + dmarc_args).strip(),
                                  "rcpt_ok", "queue/maildir {maildir}"]
        return self.start_daemon(plugins=plugins, files=files, settings=settings)

    def send(self, d, sender, raw, code):
        """One message on a new connection; returns (reply, the dmarc log line)."""
        before = len(re.findall(r"dmarc: \w+ ", d.stderr_text()))
        c = self.client(d)
        c.ehlo()
        reply = c.send_mail(sender=sender, body=dot_stuff(raw))
        self.assertEqual(reply.code, code, f"{sender}: {reply}")
        deadline = time.monotonic() + 5
        lines = []
        while time.monotonic() < deadline:
            lines = re.findall(r"dmarc: (?:pass|fail|none|temperror|permerror) .*", d.stderr_text())
            if len(lines) > before:
                break
            time.sleep(0.02)
        c.cmd("QUIT", 221)
        self.assertGreater(len(lines), before, d.stderr_tail())
        return reply, lines[-1]

    def last_message(self, d):
        messages = d.maildir.messages()
        self.assertTrue(messages)
        return messages[-1].raw

    def test_spf_alignment_relaxed_and_strict(self):
        d = self.daemon()
        _, line = self.send(d, "x@bounce.rel.test", message("a@rel.test"), 250)   # relaxed: bounce.rel.test ~ rel.test
        self.assertRegex(line, r"^dmarc: pass header_from=rel.test envelope_from=bounce.rel.test source_ip=127.0.0.1 "
                               r"policy_domain=rel.test p=reject sp=reject pct=100 adkim=r aspf=r spf=pass/bounce.rel.test "
                               r"dkim=none aligned=spf disposition=none override=none")
        reply, line = self.send(d, "x@bounce.strict.test", message("a@strict.test"), 550)   # strict: not equal
        self.assertEqual(reply.esc, "5.7.1")
        self.assertIn("Failed DMARC policy of strict.test", reply.text)
        self.assertIn("dmarc: fail header_from=strict.test", line)
        self.assertIn("aspf=s spf=pass/bounce.strict.test", line)
        self.assertIn("disposition=reject", line)
        self.send(d, "x@strict.test", message("a@strict.test"), 250)                     # strict: equal
        reply, _ = self.send(d, "x@other.test", message("a@rel.test"), 550)              # SPF fails for other.test
        self.assertEqual(d.maildir.count(), 2)

    def test_dkim_alignment_relaxed_and_strict(self):
        d = self.daemon()
        _, line = self.send(d, "x@other.test", self.sign(message("a@rel.test"), "mail.rel.test"), 250)
        self.assertIn("dmarc: pass header_from=rel.test", line)
        self.assertIn("dkim=pass/mail.rel.test aligned=dkim", line)
        _, line = self.send(d, "x@other.test", self.sign(message("a@strict.test"), "mail.strict.test"), 550)
        self.assertIn("adkim=s", line)
        self.assertIn("dkim=pass/mail.strict.test aligned=none", line)
        _, line = self.send(d, "x@other.test", self.sign(message("a@strict.test"), "strict.test"), 250)
        self.assertIn("aligned=dkim", line)
        # A signature that passes for an unrelated domain does not align.
        self.send(d, "x@other.test", self.sign(message("a@rel.test"), "other.test"), 550)
        # A signature that breaks in transit: fail, refused.
        signed = self.sign(message("a@rel.test"), "rel.test").replace(b"Body text.", b"Body text!")
        _, line = self.send(d, "x@other.test", signed, 550)
        self.assertIn("dkim=fail/rel.test", line)

    def test_policies_none_quarantine_reject_and_the_note(self):
        d = self.daemon()
        _, line = self.send(d, "x@other.test", message("a@mon.test"), 250)
        self.assertIn("dmarc: fail header_from=mon.test", line)
        self.assertIn("p=none", line)
        self.assertNotIn(b"X-DMARC-Quarantine", self.last_message(d))
        _, line = self.send(d, "x@other.test", message("a@quar.test"), 250)
        self.assertIn("disposition=quarantine", line)
        self.assertIn(b"X-DMARC-Quarantine: fail (p=quarantine sp=quarantine dis=quarantine) header.from=quar.test\r\n",
                      self.last_message(d))
        reply, _ = self.send(d, "x@other.test", message("a@rel.test"), 550)
        self.assertEqual(reply.esc, "5.7.1")
        self.assertEqual(d.maildir.count(), 2)

    def test_subdomain_under_sp_and_domain_without_record(self):
        d = self.daemon()
        _, line = self.send(d, "x@other.test", message("a@news.sub.test"), 550)
        self.assertIn("dmarc: fail header_from=news.sub.test", line)
        self.assertIn("policy_domain=sub.test p=none sp=reject", line)
        _, line = self.send(d, "x@other.test", message("a@sub.test"), 250)   # the org domain itself: p=none
        self.assertIn("disposition=none", line)
        _, line = self.send(d, "x@other.test", message("a@norecord.test"), 250)
        self.assertIn("dmarc: none header_from=norecord.test", line)
        self.assertIn("policy_domain=-", line)

    def test_pct_zero_samples_out_pct_hundred_applies(self):
        d = self.daemon()
        _, line = self.send(d, "x@other.test", message("a@pct0.test"), 250)
        self.assertIn("pct=0", line)
        self.assertIn("disposition=quarantine override=sampled_out", line)
        self.assertIn(b"X-DMARC-Quarantine: fail (p=reject sp=reject dis=quarantine override=sampled_out) "
                      b"header.from=pct0.test", self.last_message(d))
        _, line = self.send(d, "x@other.test", message("a@pct100.test"), 550)
        self.assertIn("disposition=reject override=none", line)

    def test_record_lookup_timeout_is_temperror(self):
        d = self.daemon("timeout 1", plugin_timeout=5)
        start = time.monotonic()
        _, line = self.send(d, "x@other.test", message("a@slow.test"), 250)
        took = time.monotonic() - start
        self.assertIn("dmarc: temperror header_from=slow.test", line)
        self.assertIn("problem=_dmarc.slow.test: timeout", line)
        self.assertGreater(took, 0.9)
        self.assertLess(took, 4.5)
        d2 = self.daemon("timeout 1 reject_type temp", plugin_timeout=5)
        reply, _ = self.send(d2, "x@other.test", message("a@slow.test"), 451)
        self.assertEqual(reply.esc, "4.7.1")

    def test_whitelist_overrides_the_policy(self):
        d = self.daemon(before=["whitelist"], files={"whitelistsenders": "lists.other.test\n"})
        _, line = self.send(d, "owner@lists.other.test", message("a@rel.test"), 250)
        self.assertIn("dmarc: fail header_from=rel.test", line)
        self.assertIn("disposition=none override=mailing_list", line)
        d2 = self.daemon(before=["whitelist"], files={"whitelisthosts": "127.0.0.1\n"})
        _, line = self.send(d2, "x@other.test", message("a@rel.test"), 250)
        self.assertIn("disposition=none override=trusted_forwarder", line)
        # Not even a From problem is refused from a trusted forwarder.
        c = self.client(d2)
        c.ehlo()
        raw = message("a@rel.test", extra_headers="From: b@other.test\r\n")
        self.assertEqual(c.send_mail(sender="x@other.test", body=dot_stuff(raw)).code, 250)
        c.cmd("QUIT", 221)
        self.assertIsNotNone(d2.wait_for_log(r"dmarc: permerror \(multiple From fields\) .* override=trusted_forwarder"))

    def test_several_from_fields_are_refused_relay_clients_skipped(self):
        d = self.daemon()
        raw = message("a@rel.test", extra_headers="From: b@other.test\r\n")
        c = self.client(d)
        c.ehlo()
        reply = c.send_mail(sender="x@bounce.rel.test", body=dot_stuff(raw))
        self.assertEqual(reply.code, 550)
        self.assertIn("multiple From fields", reply.text)
        c.cmd("QUIT", 221)
        self.assertIsNotNone(d.wait_for_log(r"dmarc: permerror \(multiple From fields\)"))
        d2 = self.daemon(before=["relay"], files={"relayclients": "127.0.0.1\n"})
        c = self.client(d2)
        c.ehlo()
        self.assertEqual(c.send_mail(sender="x@other.test", body=dot_stuff(message("a@rel.test"))).code, 250)
        c.cmd("QUIT", 221)
        self.assertIn("dmarc: skip, relay client", d2.stderr_text())

"""test_authentication_results.py - the authentication_results plugin end to end, and the header
edits it relies on, through the real daemon.

The daemon runs fcrdns, sender_permitted_from, dkim, dmarc and authentication_results with zones
on the loopback test DNS server; messages are DKIM-signed by dkimpy (Debian's python3-dkim,
under /usr/bin/python3) with an RSA key the test makes; the client's address comes through a
PROXY header (192.0.2.7, which has a forward-confirmed PTR name) so that iprev is really
evaluated. The oracle: the delivered message carries exactly one Authentication-Results field
with our authserv-id, right below our Received line, and its results are checked one by one
(spf pass/fail, dkim pass/fail, dmarc, iprev, auth); a forged field with our id arrives renamed
Original-Authentication-Results, one with another id arrives untouched, and the rest of the
message is byte for byte what was sent, through queue/maildir and through queue/smtp_forward
(smtp-sink as the next hop). Owner: e2e tests of issue 12 (Authentication-Results).
"""

import base64
import re
import subprocess
import tempfile
from pathlib import Path

from dns_support import DnsServer
from harness import HOSTNAME, E2ETestCase, dot_stuff
from test_smtp_forward import SmtpSink
from tls_support import crypt_hash, plain_response, start_with_listeners

SIGNER = r"""
import sys, dkim
domain, key_path = sys.argv[1], sys.argv[2]
msg = sys.stdin.buffer.read()
sig = dkim.sign(msg, b"sel", domain.encode(), open(key_path, "rb").read(),
                include_headers=[b"from", b"to", b"subject"])
sys.stdout.buffer.write(sig + msg)
"""

CLIENT_IP = "192.0.2.7"
PLUGINS = ["fcrdns", "sender_permitted_from", "dkim", "dmarc", "authentication_results", "auth/flat_file",
           "rcpt_ok"]
PASSWORD = "ar-secret"


def zones(public_key):
    spf = f'"v=spf1 ip4:127.0.0.1 ip4:{CLIENT_IP} -all"'
    return "\n".join([
        "$TTL 60", "$ORIGIN pass.test.", "@ IN SOA ns.pass.test. h.pass.test. 1 60 60 60 30",
        f"@ IN TXT {spf}",
        f'sel._domainkey IN TXT "v=DKIM1; k=rsa; p={public_key}"',
        '_dmarc IN TXT "v=DMARC1; p=none"',
        "$ORIGIN fail.test.", "@ IN SOA ns.fail.test. h.fail.test. 1 60 60 60 30",
        '@ IN TXT "v=spf1 -all"',
        "$ORIGIN iprev.test.", "@ IN SOA ns.iprev.test. h.iprev.test. 1 60 60 60 30",
        f"mail IN A {CLIENT_IP}",
        "$ORIGIN 2.0.192.in-addr.arpa.", "@ IN SOA ns.iprev.test. h.iprev.test. 1 60 60 60 30",
        "7 IN PTR mail.iprev.test.",
    ]) + "\n"


def message(author, extra=b""):
    return (f"From: Author <{author}>\r\nTo: a@example.test\r\n".encode() + extra +
            b"Subject: authentication results\r\n\r\nBody text.\r\n")


def header_block(raw):
    return raw.split(b"\r\n\r\n", 1)[0].decode("latin-1")


def fields(raw, name):
    """Unfolded values of every field called name (case-insensitive), in order."""
    out = []
    for m in re.finditer(r"^([!-9;-~]+):([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)", header_block(raw), re.M):
        if m.group(1).lower() == name.lower():
            out.append(re.sub(r"\r\n", "", m.group(2)).strip())
    return out


def results(value):
    """An Authentication-Results value -> (authserv-id, [result, ...]) with white space squeezed."""
    parts = [re.sub(r"\s+", " ", p).strip() for p in value.split(";")]
    return parts[0], parts[1:]


class AuthenticationResultsTest(E2ETestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="asmtpd-ar-e2e-")
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

    def daemon(self, queue="queue/maildir {maildir}"):
        dns = DnsServer(zones(self.public_key)).start()
        self.addCleanup(dns.stop)
        settings = {"dns": {"servers": [dns.address], "timeout": 10, "attempts": 1},
                    "trusted_proxies": ["127.0.0.1/32"], "tls_before_auth": False,
                    "limits": {"auth_failures_per_ip": 0}}
        files = {"flat_auth_pw": f"carol:{crypt_hash(PASSWORD)}\n"}
        d, [proxy_port] = start_with_listeners(self, [{"proxy_protocol": True}], plugins=PLUGINS + [queue],
                                               files=files, settings=settings)
        return d, proxy_port

    def proxied(self, port):
        """A session whose client is CLIENT_IP (PROXY v1 from the trusted 127.0.0.1)."""
        c = self.client(type("P", (), {"port": port})(), greet=False)
        c.send(f"PROXY TCP4 {CLIENT_IP} 127.0.0.1 40007 25\r\n".encode())
        self.assertEqual(c.read_reply().code, 220)
        c.ehlo()
        return c

    def deliver(self, d, c, sender, raw, auth=False):
        if auth:
            c.cmd("AUTH PLAIN " + plain_response("carol", PASSWORD), 235)
        reply = c.send_mail(sender=sender, body=dot_stuff(raw))
        self.assertEqual(reply.code, 250, d.stderr_tail())
        return d.maildir.messages()[-1].raw

    def ours(self, raw):
        """The one Authentication-Results field with our id, which must come right after Received."""
        mine = [v for v in fields(raw, "Authentication-Results") if results(v)[0].lower() == HOSTNAME]
        self.assertEqual(len(mine), 1, header_block(raw))
        block = header_block(raw)
        # queue/maildir writes qmail-local's envelope fields (Return-Path, Delivered-To) first.
        self.assertRegex(block, r"\A(?:(?:Return-Path|Delivered-To): [^\r]*\r\n)*"
                                r"Received: [^\r]*(?:\r\n[ \t][^\r]*)*\r\nAuthentication-Results: " + re.escape(HOSTNAME) + ";")
        return results(mine[0])[1]

    def test_spf_dkim_dmarc_iprev_pass(self):
        d, port = self.daemon()
        c = self.proxied(port)
        raw = self.deliver(d, c, "joe@pass.test", self.sign(message("a@pass.test"), "pass.test"))
        got = self.ours(raw)
        self.assertEqual(got[0], f"iprev=pass policy.iprev={CLIENT_IP} (mail.iprev.test)")
        self.assertEqual(got[1], "spf=pass smtp.mailfrom=joe@pass.test")
        # header.b is the signature's first 8 base64 characters: quoted (RFC 8601 / RFC 2045
        # value) when they hold a "/", a tspecial (about one signature in eight).
        self.assertRegex(got[2], r"^dkim=pass header\.d=pass\.test header\.i=@pass\.test header\.s=sel "
                                 r'header\.a=rsa-sha256 header\.b=([A-Za-z0-9+]{8}|"[A-Za-z0-9+/]{8}")$')
        self.assertEqual(got[3], "dmarc=pass (p=none sp=none dis=none) header.from=pass.test")
        self.assertEqual(len(got), 4)

    def test_spf_fail_and_dkim_fail(self):
        d, port = self.daemon()
        c = self.proxied(port)
        signed = self.sign(message("a@pass.test"), "pass.test").replace(b"Body text.", b"Body text!")
        raw = self.deliver(d, c, "joe@fail.test", signed)
        got = self.ours(raw)
        self.assertEqual(got[1], "spf=fail smtp.mailfrom=joe@fail.test")
        self.assertRegex(got[2], r'^dkim=fail reason="body hash did not verify" header\.d=pass\.test ')
        self.assertEqual(got[3], "dmarc=fail (p=none sp=none dis=none) header.from=pass.test")
        # Unsigned: dkim=none.
        raw = self.deliver(d, c, "joe@pass.test", message("a@pass.test"))
        self.assertIn("dkim=none", self.ours(raw))

    def test_authenticated_submission(self):
        d, _ = self.daemon()
        c = self.client(d)
        c.ehlo()
        raw = self.deliver(d, c, "carol@pass.test", message("carol@pass.test"), auth=True)
        got = self.ours(raw)
        self.assertIn("auth=pass smtp.auth=carol", got)
        self.assertFalse([r for r in got if r.startswith("iprev=")])   # loopback: fcrdns does not test

    def check_forged(self, raw, sent):
        self.assertEqual(fields(raw, "Original-Authentication-Results"),
                         [f"{HOSTNAME.upper()}; spf=pass smtp.mailfrom=forged@pass.test",
                          f'(comment) "{HOSTNAME}"; dkim=pass header.d=forged.example'])
        self.assertEqual(fields(raw, "Authentication-Results")[1:],
                         ["other.example; dkim=pass header.d=other.example"])
        # Everything after our two fields is the message as sent, but for the two renames.
        expected = sent.replace(b"Authentication-Results: " + HOSTNAME.upper().encode(),
                                b"Original-Authentication-Results: " + HOSTNAME.upper().encode())
        expected = expected.replace(b"authentication-results: (comment)", b"Original-Authentication-Results: (comment)")
        self.assertTrue(raw.endswith(expected), raw)

    def forged_message(self):
        extra = (f"Authentication-Results: {HOSTNAME.upper()}; spf=pass smtp.mailfrom=forged@pass.test\r\n"
                 "Authentication-Results: other.example; dkim=pass header.d=other.example\r\n"
                 f'authentication-results: (comment)\r\n "{HOSTNAME}"; dkim=pass header.d=forged.example\r\n')
        return message("a@pass.test", extra.encode())

    def test_forged_results_renamed_others_kept_maildir(self):
        d, port = self.daemon()
        c = self.proxied(port)
        sent = self.forged_message()
        raw = self.deliver(d, c, "joe@pass.test", sent)
        self.ours(raw)
        self.check_forged(raw, sent)

    def test_forged_results_renamed_through_smtp_forward(self):
        sink = SmtpSink()
        self.addCleanup(sink.stop)
        d, port = self.daemon(queue=f"queue/smtp_forward {sink.hop}")
        c = self.proxied(port)
        sent = self.forged_message()
        reply = c.send_mail(sender="joe@pass.test", body=dot_stuff(sent))
        self.assertEqual(reply.code, 250, d.stderr_tail())
        [(_, _, content)] = sink.dumps()
        # smtp-sink writes LF line ends and one more LF at the end.
        raw = content.rstrip(b"\n").replace(b"\n", b"\r\n") + b"\r\n"
        self.ours(raw)
        self.check_forged(raw, sent)

"""test_dkim_sign.py - `dkim sign` end to end: the real daemon signs what authenticated users
and relay clients submit, and two independent implementations verify what it queued: dkimpy
(Debian's python3-dkim) and opendkim (Debian's milter, t/e2e/opendkim_support.py), with the
keys served by the loopback test DNS server. And the other way round: mail signed by opendkim
passes the daemon's own verifier.

- rsa-sha256 (2048-bit key, example.net) and ed25519-sha256 (example.org), keys made per run
  with openssl and laid out as qpsmtpd does (config/dkim/<domain>/selector, .../private).
- An unauthenticated client's mail is not signed (and is verified instead: "none").
- The signature lands below our Received line and does not cover it.
- Start-up errors: a missing private key, a bad selector file; each names the path and the
  daemon exits non-zero without listening.
Owner: e2e tests of issue 12 (DKIM signing).
"""

import base64
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from dns_support import DnsServer
from harness import E2ETestCase
from opendkim_support import OpenDkim, header_text
from tls_support import crypt_hash, plain_response

PASSWORD = "sign-me"
KEYS = {"example.net": ("s2048", "rsa"), "example.org": ("ed", "ed25519")}


def crlf(raw):
    """The stored message with CRLF line ends (maildir may keep LF)."""
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def txt_strings(record):
    return " ".join('"%s"' % record[i:i + 200] for i in range(0, len(record), 200))


def make_key(directory, kind):
    """(PEM path, the p= value) of a new rsa 2048 or ed25519 key."""
    pem = directory / f"{kind}.pem"
    algo = ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"] if kind == "rsa" else ["-algorithm", "ed25519"]
    subprocess.run(["openssl", "genpkey", *algo, "-out", str(pem)], check=True, capture_output=True, timeout=60)
    der = subprocess.run(["openssl", "pkey", "-in", str(pem), "-pubout", "-outform", "DER"], check=True,
                         capture_output=True, timeout=60).stdout
    return pem, base64.b64encode(der if kind == "rsa" else der[-32:]).decode()


def dkimpy_verify(message, dns_port):
    """dkimpy's verdict on every signature, its key fetched from the test DNS server."""
    out = subprocess.run(["/usr/bin/python3", "-c", DKIMPY_VERIFY, str(dns_port)], input=message,
                         capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr.decode(errors="replace")
    return out.stdout.decode().split()


# Runs under Debian's python3 (python3-dkim and python3-dns are Debian packages).
DKIMPY_VERIFY = r"""
import sys, dkim, dns.resolver
port = int(sys.argv[1])
def txt(name, timeout=5):
    r = dns.resolver.Resolver(configure=False)
    r.nameservers = ["127.0.0.1"]
    r.port = port
    return b"".join(b"".join(a.strings) for a in r.resolve(name.decode().rstrip("."), "TXT"))
msg = sys.stdin.buffer.read()
d = dkim.DKIM(msg)
n = len([h for h in d.headers if h[0].lower() == b"dkim-signature"])
def verdict(i):
    try:
        return "pass" if d.verify(idx=i, dnsfunc=txt) else "fail"
    except dkim.ValidationError:   # a body hash mismatch is raised, not returned
        return "fail"
print(" ".join(verdict(i) for i in range(n)))
"""


class DkimSignTest(E2ETestCase):

    @classmethod
    def setUpClass(cls):
        cls.keydir = Path(tempfile.mkdtemp(prefix="asmtpd-dkimsign-e2e-"))
        cls.keys = {}
        lines = ["$TTL 60"]
        for domain, (selector, kind) in KEYS.items():
            pem, p = make_key(cls.keydir, kind)
            cls.keys[domain] = pem
            lines += [f"{domain}. IN SOA ns.{domain}. h.{domain}. 1 60 60 60 30",
                      f"{selector}._domainkey.{domain}. IN TXT {txt_strings(f'v=DKIM1; k={kind}; p={p}')}"]
        cls.zones = "\n".join(lines) + "\n"

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.keydir, ignore_errors=True)

    def setUp(self):
        self.dns = DnsServer(self.zones).start()
        self.addCleanup(self.dns.stop)

    def key_files(self):
        files = {}
        for domain, (selector, _) in KEYS.items():
            files[f"dkim/{domain}/selector"] = selector + "\n"
            files[f"dkim/{domain}/private"] = self.keys[domain].read_bytes()
        return files

    def daemon(self, plugins_before=("auth/flat_file",), files=None, dkim="dkim sign", wait=True):
        all_files = {"flat_auth_pw": f"joe:{crypt_hash(PASSWORD)}\n", "rcpthosts": "example.com\n"}
        all_files.update(self.key_files())
        all_files.update(files or {})
        settings = {"dns": {"servers": [self.dns.address], "timeout": 20, "attempts": 1}, "tls_before_auth": False,
                    "limits": {"auth_failures_per_ip": 0}}
        return self.start_daemon(plugins=list(plugins_before) + [dkim, "rcpt_ok", "queue/maildir {maildir}"],
                                 files=all_files, settings=settings, wait=wait, check_exit=wait)

    def submit(self, d, from_addr, auth=True, sender=None):
        """One message from `from_addr`; returns it as queued (CRLF)."""
        before = len(d.maildir.messages())
        c = self.client(d)
        c.ehlo()
        if auth:
            c.cmd("AUTH PLAIN " + plain_response("joe", PASSWORD), 235)
        body = (f"From: Joe <{from_addr}>\r\nTo: Suzie <suzie@example.com>\r\nSubject: signed by asmtpd\r\n"
                "Date: Wed, 02 Dec 2026 12:00:00 +0000\r\nMessage-ID: <1@client.test>\r\n"
                "Received: from laptop by client.test\r\n\r\n"
                "Hello.  Trailing blanks   \r\n\r\nand empty lines at the end\r\n\r\n\r\n").encode()
        self.assertEqual(c.send_mail(sender=sender or from_addr, rcpts=["suzie@example.com"], body=body).code, 250)
        c.cmd("QUIT", 221)
        messages = d.maildir.messages()
        self.assertEqual(len(messages), before + 1)
        return crlf(messages[-1].raw)

    def opendkim_verdict(self, message):
        """opendkim's Authentication-Results for `message`, as seen from an outside client."""
        od = OpenDkim(self.dns.port, mode="v").start()
        self.addCleanup(od.cleanup)
        c = od.client()
        try:
            action, added = c.message(message, client_ip="192.0.2.1")
        finally:
            c.close()
        self.assertEqual(action, b"a", od.log())
        results = [v for n, v in added if n.lower() == "authentication-results"]
        self.assertEqual(len(results), 1, f"{added}\n{od.log()}")
        return re.sub(r"\s+", " ", results[0]).strip()

    def test_authenticated_mail_is_signed_and_verifies_with_dkimpy_and_opendkim(self):
        d = self.daemon()
        for domain, (selector, kind) in KEYS.items():
            with self.subTest(domain=domain):
                queued = self.submit(d, f"joe@{domain}")
                algorithm = "rsa-sha256" if kind == "rsa" else "ed25519-sha256"
                # Our Received, then the signature, then the client's header.
                self.assertRegex(queued, rb"^(?:(?:Return-Path|Delivered-To): [^\r]*\r\n)*"   # queue/maildir's envelope
                                         rb"Received: [^\r]*\r\n(?:[ \t][^\r]*\r\n)*DKIM-Signature: v=1; a=" +
                                 algorithm.encode() + rb"; c=relaxed/relaxed;\r\n d=" + domain.encode() +
                                 rb"; s=" + selector.encode() + rb"; t=\d+;\r\n h=from:from:subject:date:message-id:to;")
                self.assertEqual(dkimpy_verify(queued, self.dns.port), ["pass"])
                verdict = self.opendkim_verdict(queued)
                self.assertIn(f"dkim=pass", verdict)
                self.assertIn(f"header.d={domain}", verdict)
                self.assertIn(f"header.a={algorithm}", verdict)
                self.assertIn(f"header.s={selector}", verdict)
                self.assertIn(f"dkim: signed d={domain} s={selector} a={algorithm} (From domain {domain}; "
                              "authenticated)", d.stderr_text())
        # A changed body no longer verifies with either: the signature really covers it.
        tampered = queued.replace(b"Hello.", b"Hullo.")
        self.assertEqual(dkimpy_verify(tampered, self.dns.port), ["fail"])
        self.assertIn("dkim=fail", self.opendkim_verdict(tampered))

    def test_relay_client_mail_is_signed_with_the_envelope_domain_when_from_has_no_key(self):
        d = self.daemon(plugins_before=("relay",), files={"relayclients": "127.0.0.1\n"})
        queued = self.submit(d, "joe@elsewhere.example", auth=False, sender="bounces@example.net")
        self.assertIn(b"\r\n d=example.net; s=s2048;", queued)
        self.assertEqual(dkimpy_verify(queued, self.dns.port), ["pass"])
        self.assertIn("dkim=pass", self.opendkim_verdict(queued))
        self.assertIn("(envelope sender domain example.net; relay client)", d.stderr_text())

    def test_unauthenticated_mail_is_not_signed_but_verified(self):
        d = self.daemon()
        queued = self.submit(d, "joe@example.net", auth=False)
        self.assertNotIn(b"DKIM-Signature", queued)
        self.assertIn("dkim: none, not signed", d.stderr_text())
        self.assertNotIn("dkim: signed", d.stderr_text())

    def test_opendkim_signed_mail_passes_our_verifier(self):
        d = self.daemon()
        message = (b"From: Joe <joe@example.net>\r\nTo: suzie@example.com\r\nSubject: signed by opendkim\r\n"
                   b" folded\r\nDate: Wed, 02 Dec 2026 12:00:00 +0000\r\n\r\nHi.\r\n\r\n  spaced  \r\n")
        for domain, (selector, kind) in KEYS.items():
            with self.subTest(domain=domain):
                algorithm = "rsa-sha256" if kind == "rsa" else "ed25519-sha256"
                m = message.replace(b"example.net", domain.encode())
                od = OpenDkim(self.dns.port, mode="s", domain=domain, selector=selector,
                              key_file=str(self.keys[domain]), algorithm=algorithm).start()
                self.addCleanup(od.cleanup)
                c = od.client()
                try:
                    action, added = c.message(m, sender=f"joe@{domain}")
                finally:
                    c.close()
                self.assertEqual(action, b"a", od.log())
                sigs = [header_text(n, v) for n, v in added if n.lower() == "dkim-signature"]
                self.assertEqual(len(sigs), 1, f"{added}\n{od.log()}")
                c = self.client(d)
                c.ehlo()
                self.assertEqual(c.send_mail(sender=f"joe@{domain}", rcpts=["suzie@example.com"],
                                             body=sigs[0] + m).code, 250)
                c.cmd("QUIT", 221)
                deadline = time.monotonic() + 5
                want = f"dkim: pass d={domain} s={selector} a={algorithm}"
                while want not in d.stderr_text() and time.monotonic() < deadline:
                    time.sleep(0.05)
                self.assertIn(want, d.stderr_text())

    def start_failure(self, files):
        """Starts a daemon that must refuse to start; returns its stderr."""
        d = self.daemon(files=files, wait=False)
        d.proc.wait(timeout=30)
        self.assertNotEqual(d.proc.returncode, 0)
        return d.stderr_text()

    def test_startup_errors_name_the_path(self):
        err = self.start_failure({"dkim/example.com/selector": "sel\n"})   # no private key
        self.assertRegex(err, r"config/plugins:\d+: .*dkim sign: \S+/config/dkim/example.com/private: "
                              r"No such file or directory")
        err = self.start_failure({"dkim/example.net/selector": "not a selector!\n"})
        self.assertIn("/config/dkim/example.net/selector: the selector 'not a selector!' is not a DNS name", err)
        err = self.start_failure({"dkim/example.org/private": b"-----BEGIN PRIVATE KEY-----\nAAAA\n"
                                                              b"-----END PRIVATE KEY-----\n"})
        self.assertIn("/config/dkim/example.org/private: ", err)

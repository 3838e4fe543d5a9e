# dkim_load.py - load (j)'s servers: 10 KB messages, each carrying a valid rsa-sha256 signature
# by a 2048-bit key, through asmtpd's `dkim` verifier and `dmarc` (p=reject; the signature's
# d= aligns with the From domain, so DMARC passes by DKIM), against the same load through
# asmtpd without them.
#
# The message is signed once per bench run by dkimpy (Debian's python3-dkim, an independent
# implementation), relaxed/relaxed, d=example.com s=bench, with a key openssl makes in the work
# directory; the key record goes into the bench's loopback DNS server (bench_dns.py), so every
# message costs the verifier one key lookup (answered from asmtpd's DNS cache after the first),
# one body hash over 10 KB and one RSA-2048 verification, and DMARC one _dmarc lookup (cached)
# and the alignment. The client is proxy_source -F (the
# same bytes for every message) through PROXY as 198.18.0.7, load (i)'s public-looking client,
# whose SPF passes for example.com: what DMARC will need. The plugin refuses what fails
# (reject 1; dmarc refuses a failure by default), so a broken signature shows as failed runs,
# never as a fast number.
#   asmtpd-dkim    dkim reject 1, dmarc, rcpt_ok, queue/discard
#   asmtpd-nodkim  rcpt_ok, queue/discard: the same listener, client and message
#   asmtpd-dkim-2w, asmtpd-nodkim-2w: the same pair with `workers: 2`, one loop per vCPU of
#                  the bench machine (information: the target is on the one-worker pair, where
#                  the loop, its CPU thread and the client share the two vCPUs)
# Owner: tooling (scripts/bench_lib/).
import base64
import os
import subprocess

import bench_dns
import dns_chain

SELECTOR = "bench"
DOMAIN = "example.com"
BODY_BYTES = 10 * 1024
# The dmarc plugin's config/plugins line (None: dkim alone).
DMARC_PLUGIN = "dmarc"

SIGN = r"""
import sys, dkim
key = open(sys.argv[1], "rb").read()
msg = sys.stdin.buffer.read()
sig = dkim.sign(msg, b"bench", b"example.com", key, canonicalize=(b"relaxed", b"relaxed"),
                include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
sys.stdout.buffer.write(sig + msg)
"""


def message_text():
    """The unsigned message: a header and BODY_BYTES of 72-character text lines (CRLF)."""
    head = (f"From: Bench <{bench_dns.CHAIN_SENDER}>\r\nTo: <rcpt@bench.test>\r\nSubject: load j, signed\r\n"
            "Date: Wed, 02 Dec 2026 12:00:00 +0000\r\nMessage-ID: <load-j@example.com>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n")
    line = "The quick brown fox jumps over the lazy dog; DKIM body hash input..... \r\n"
    body = line * (BODY_BYTES // len(line) + 1)
    return (head + body[:BODY_BYTES - 2] + "\r\n").encode()


def prepare_message(work):
    """(message file for proxy_source -F, key record zone lines), made once per work dir."""
    d = os.path.join(work, "dkim")
    os.makedirs(d, exist_ok=True)
    pem, signed = os.path.join(d, "bench.pem"), os.path.join(d, "signed.eml")
    if not os.path.exists(pem):
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", pem],
                       check=True, capture_output=True, timeout=120)
    der = subprocess.run(["openssl", "pkey", "-in", pem, "-pubout", "-outform", "DER"], check=True,
                         capture_output=True, timeout=60).stdout
    record = "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()
    strings = " ".join('"%s"' % record[i:i + 200] for i in range(0, len(record), 200))
    out = subprocess.run(["/usr/bin/python3", "-c", SIGN, pem], input=message_text(), check=True,
                         capture_output=True, timeout=120).stdout
    with open(signed, "wb") as f:
        f.write(out)
    zone = f"{SELECTOR}._domainkey.{DOMAIN}. 3600 IN TXT {strings}\n_dmarc.{DOMAIN}. 3600 IN TXT \"v=DMARC1; p=reject\"\n"
    return signed, zone


class AsmtpdDkim(dns_chain.AsmtpdChain):
    """asmtpd behind load (i)'s PROXY listener, sent load (j)'s signed message."""

    def __init__(self, work, port, binary, verify=True, workers=1):
        super().__init__(work, port, binary, chain=False)
        self.verify, self.workers = verify, workers
        self.name = ("asmtpd-dkim" if verify else "asmtpd-nodkim") + (f"-{workers}w" if workers > 1 else "")
        self.cfg = os.path.join(work, "cfg", self.name)
        self.message_file = None
        if workers > 1:
            self.use_pss = True            # a supervisor and pre-forked worker processes
            self.min_procs = workers + 1

    def prepare(self):
        super().prepare()
        self.message_file, zone = prepare_message(self.work)
        dns = self.dns
        if zone not in dns_zone_text(dns):
            dns.write_zones(bench_dns.ZONES + zone)
        plugins = (["dkim reject 1"] + ([DMARC_PLUGIN] if DMARC_PLUGIN else [])) if self.verify else []
        with open(os.path.join(self.cfg, "plugins"), "w") as f:
            f.write("\n".join(plugins + ["rcpt_ok", self.queue]) + "\n")

    def load_argv(self, msgs, size, sessions, reuse):
        return super().load_argv(msgs, size, sessions, reuse)[:-1] + ["-F", self.message_file,
                                                                       f"127.0.0.1:{self.port}"]

    def note(self):
        what = "dkim reject 1" + (f", {DMARC_PLUGIN}" if DMARC_PLUGIN else "") if self.verify else "no dkim"
        what += f"; workers={self.workers}"
        return f"{what}; 10 KB message signed rsa-sha256 (2048) by dkimpy; PROXY from {bench_dns.CHAIN_CLIENT}"


def dns_zone_text(dns):
    try:
        with open(os.path.join(dns.dir, "zones")) as f:
            return f.read()
    except OSError:
        return ""

"""test_clamdscan.py - client -> asmtpd (virus/clamdscan) -> a real clamd on loopback.

One clamd (scan_support.Clamd: a private clamd.conf, a database of one test signature the test
writes, no freshclam) serves the whole class, on a Unix socket and on 127.0.0.1:<port>; clamd's
own zINSTREAM answer for the same bytes is the oracle. A message carrying the signature (plain,
or base64 in a MIME attachment, which clamd must decode) is refused with 552 5.7.1 "Virus found:
NAME" and logged; a clean one is queued with X-Virus-Found: No and X-Virus-Checked; deny_viruses
no tags instead of refusing; relay clients are scanned too; clamd stopped or over its
StreamMaxLength means accept and log, or 451 4.3.0 with defer_on_error yes; max_size skips.
Skipped, with the reason, only when clamd is not installed (scripts/bootstrap installs it).
Owner: content scanning plugins (issue 13).
"""

import base64
import unittest

from harness import HOSTNAME, E2ETestCase, dot_stuff, free_port
from scan_support import TEST_SIGNATURE, VIRUS_NAME, Clamd, clamd_unavailable, header_fields

WHY_NOT = clamd_unavailable()

CLEAN = (b"From: alice@example.org\r\nTo: bob@example.test\r\nSubject: report\r\n\r\n"
         b"The quarterly report is attached in spirit.\r\n")
INFECTED = (b"From: x@example.org\r\nTo: bob@example.test\r\nSubject: invoice\r\n\r\n"
            b"see " + TEST_SIGNATURE + b" here\r\n")


def attachment_message(payload: bytes) -> bytes:
    b64 = base64.b64encode(payload)
    lines = b"\r\n".join(b64[i:i + 76] for i in range(0, len(b64), 76))
    return (b"From: x@example.org\r\nTo: bob@example.test\r\nSubject: invoice\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=\"BOUND\"\r\n\r\n"
            b"--BOUND\r\nContent-Type: text/plain\r\n\r\nPlease pay.\r\n"
            b"--BOUND\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
            b"Content-Disposition: attachment; filename=\"invoice.bin\"\r\n\r\n" + lines + b"\r\n--BOUND--\r\n")


@unittest.skipIf(WHY_NOT is not None, WHY_NOT or "")
class ClamdScanTest(E2ETestCase):

    @classmethod
    def setUpClass(cls):
        cls.clamd = Clamd(stream_max="200K")
        try:
            cls.clamd.start()
        except Exception:
            cls.clamd.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.clamd.cleanup()

    def daemon(self, *args, plugins_before=(), files=None):
        line = " ".join(["virus/clamdscan"] + list(args))
        return self.start_daemon(plugins=list(plugins_before) + [line, "rcpt_ok", "queue/maildir {maildir}"],
                                 files=files)

    def send(self, d, content):
        c = self.client(d, timeout=30)
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.org>", 250)
        c.cmd("RCPT TO:<bob@example.test>", 250)
        c.cmd("DATA", 354)
        c.send(dot_stuff(content) + b".\r\n")
        r = c.read_reply(30)
        c.cmd("QUIT", 221)
        return r

    def test_oracle_knows_the_signature(self):
        self.assertEqual(self.clamd.scan(INFECTED), f"stream: {VIRUS_NAME} FOUND\0".encode())
        self.assertEqual(self.clamd.scan(CLEAN), b"stream: OK\0")

    def test_virus_is_refused_with_its_name_over_the_unix_socket(self):
        d = self.daemon("clamd_socket", self.clamd.socket_path)
        r = self.send(d, INFECTED)
        self.assertEqual((r.code, r.esc), (552, "5.7.1"), r.raw)
        self.assertEqual(r.text, f"5.7.1 Virus found: {VIRUS_NAME}")
        self.assertDelivered(d, 0)
        self.assertIn(f"clamdscan: fail, virus found: {VIRUS_NAME} (denied", d.stderr_text())

    def test_virus_in_a_base64_attachment_is_refused_over_tcp(self):
        d = self.daemon("clamd_socket", self.clamd.hop)
        r = self.send(d, attachment_message(b"MZ\x90\x00 payload " + TEST_SIGNATURE + b" end"))
        self.assertEqual(r.code, 552, r.raw)
        self.assertIn(VIRUS_NAME, r.text)
        self.assertDelivered(d, 0)

    def test_clean_message_is_queued_with_the_check_headers(self):
        d = self.daemon("clamd_socket", self.clamd.socket_path)
        r = self.send(d, CLEAN)
        self.assertEqual(r.code, 250, r.raw)
        [m] = self.assertDelivered(d, 1)
        self.assertEqual(header_fields(m.raw, "X-Virus-Found"), ["No"])
        self.assertEqual(header_fields(m.raw, "X-Virus-Checked"), [f"Checked by ClamAV on {HOSTNAME}"])
        self.assertTrue(m.raw.endswith(m.stored_form(CLEAN)))
        self.assertRegex(d.stderr_text(), r"clamdscan: pass, clean \(\d+ ms\)")

    def test_deny_viruses_no_tags_the_message(self):
        d = self.daemon("clamd_socket", self.clamd.socket_path, "deny_viruses", "no")
        r = self.send(d, INFECTED)
        self.assertEqual(r.code, 250, r.raw)
        [m] = self.assertDelivered(d, 1)
        self.assertEqual(header_fields(m.raw, "X-Virus-Found"), ["Yes"])
        self.assertEqual(header_fields(m.raw, "X-Virus-Details"), [VIRUS_NAME])

    def test_relay_clients_are_scanned_too(self):
        d = self.daemon("clamd_socket", self.clamd.socket_path, plugins_before=["relay"],
                        files={"relayclients": "127.0.0.1\n"})
        r = self.send(d, INFECTED)
        self.assertEqual(r.code, 552, r.raw)

    def test_clamd_stopped_accepts_or_defers(self):
        d = self.daemon("clamd_socket", f"127.0.0.1:{free_port()}")
        r = self.send(d, INFECTED)
        self.assertEqual(r.code, 250, r.raw)
        self.assertRegex(d.stderr_text(), r"clamdscan: error, clamd 127\.0\.0\.1:\d+: .*; accepted unscanned")
        d2 = self.daemon("clamd_socket", str(self.clamd.dir / "no-such.sock"), "defer_on_error", "yes")
        r = self.send(d2, CLEAN)
        self.assertEqual((r.code, r.esc), (451, "4.3.0"), r.raw)
        self.assertIn("Unable to scan for viruses", r.text)
        self.assertDelivered(d2, 0)

    def test_clamd_size_limit_error_is_a_scan_error(self):
        big = CLEAN + b"x" * 300_000 + b"\r\n"   # over clamd's StreamMaxLength (200K here)
        d = self.daemon("clamd_socket", self.clamd.socket_path, "max_size", "1000", "defer_on_error", "yes")
        r = self.send(d, big)
        self.assertEqual(r.code, 451, r.raw)
        # clamd answers "INSTREAM size limit exceeded. ERROR" and closes while we still send:
        # whether its answer, our failed write or the reset of its close (unread data in its
        # queue: ECONNRESET, which can overtake the answer) arrives first is the kernel's race.
        # Each is a scan error, and the message is deferred.
        self.assertRegex(d.stderr_text(), r"clamdscan: error, clamd unix:\S+: "
                                          r"(clamd: INSTREAM size limit exceeded\.|closed before the message was sent"
                                          r"|closed without a reply); deferred")

    def test_max_size_skips_larger_messages(self):
        big = INFECTED + b"y" * 2000 + b"\r\n"
        d = self.daemon("clamd_socket", self.clamd.socket_path, "max_size", "1")
        r = self.send(d, big)
        self.assertEqual(r.code, 250, r.raw)
        self.assertRegex(d.stderr_text(), r"clamdscan: skip, too large \(\d+ > 1024\)")


if __name__ == "__main__":
    unittest.main()

"""test_header_checks.py - the header checks end to end: headers, loop, bogus_bounce and uribl
through the real daemon.

headers: required From and Date, duplicated singular fields, the Date window (past / future
days), reject 0 and reject_type temp, a message spooled to a file (the header block read back
asynchronously). loop: Received + Delivered-To + our own Received against the limit (554
5.4.6). bogus_bounce: a null sender with two recipients or with a Return-Path, the one-word
actions log / deny / denysoft. uribl: zones the test writes into the loopback test DNS server
(dns_support.py); a listed domain inside a base64 text part and inside a quoted-printable HTML
part (with a soft line break through the host name) is found and refused, an unlisted one
passes, an attachment is not scanned, the default action adds X-URIBL-Match, zone masks and
per-zone actions, addresses, the lookup limit, and a SERVFAIL accepted and logged.
Owner: header checks (issue 13).
"""

import base64
import email.utils
import time

from dns_support import DnsServer
from harness import E2ETestCase, dot_stuff

MAILDIR = ["rcpt_ok", "queue/maildir {maildir}"]


def date(offset_days=0.0):
    return email.utils.formatdate(time.time() + offset_days * 86400)


def msg(headers, body="Hello.\r\n"):
    return (headers + "\r\n" + body).encode()


def fields(date_value):
    return f"From: a@example.org\r\nTo: b@example.test\r\nSubject: hi\r\nDate: {date_value}\r\n"


GOOD = fields(date())


class HeaderChecksCase(E2ETestCase):

    def send(self, d, raw, code, sender="s@example.org", rcpts=("b@example.test",)):
        c = self.client(d)
        c.ehlo()
        r = c.send_mail(sender=sender, rcpts=rcpts, body=dot_stuff(raw))
        self.assertEqual(r.code, code, f"{r} for {raw[:300]!r}\n{d.stderr_tail(30)}")
        c.cmd("QUIT", 221)
        return r


class HeadersTest(HeaderChecksCase):

    def test_required_and_singular_fields(self):
        d = self.start_daemon(plugins=["headers"] + MAILDIR)
        self.send(d, msg(GOOD), 250)
        r = self.send(d, msg("From: a@example.org\r\nSubject: no date\r\n"), 552)
        self.assertEqual(r.esc, "5.7.1")
        self.assertIn("We require a valid Date header", r.text)
        r = self.send(d, msg(f"Date: {date()}\r\nFrom:   \r\n"), 552)     # empty From
        self.assertIn("We require a valid From header", r.text)
        r = self.send(d, msg(GOOD + "subject: again\r\n"), 552)
        self.assertIn("Only one Subject header allowed. See RFC 5322, Section 3.6", r.text)
        r = self.send(d, msg(GOOD + "To: c@example.test\r\n"), 552)
        self.assertIn("Only one To header allowed", r.text)
        self.assertDelivered(d, 1)
        self.assertIn("headers: fail, no Date header", d.stderr_text())

    def test_require_list_and_date_window(self):
        d = self.start_daemon(plugins=["headers require From,Message-ID past 5 future 1"] + MAILDIR)
        mid = "Message-ID: <1@example.org>\r\n"
        self.send(d, msg(fields(date()) + mid), 250)
        r = self.send(d, msg(GOOD), 552)
        self.assertIn("We require a valid Message-ID header", r.text)
        r = self.send(d, msg(fields(date(-30)) + mid), 552)
        self.assertIn("The Date header is too far in the past", r.text)
        r = self.send(d, msg(fields(date(3)) + mid), 552)
        self.assertIn("The Date header is too far in the future", r.text)
        self.send(d, msg(fields(date(-4)) + mid), 250)   # inside the window
        self.send(d, msg(fields("last tuesday") + mid), 250)   # unreadable: not checked
        # Only Message-ID and From are required now: no Date at all passes.
        self.send(d, msg("From: a@example.org\r\nMessage-ID: <2@example.org>\r\n"), 250)
        self.assertDelivered(d, 4)
        self.assertIn("headers: skip, date not parseable (last tuesday)", d.stderr_text())

    def test_reject_0_and_reject_type_temp(self):
        d = self.start_daemon(plugins=["headers reject 0"] + MAILDIR)
        self.send(d, msg("Subject: nothing\r\n"), 250)
        self.assertDelivered(d, 1)
        self.assertIn("headers: fail, tolerated, no From header; no Date header", d.stderr_text())
        d2 = self.start_daemon(plugins=["headers reject_type temp"] + MAILDIR)
        r = self.send(d2, msg("Subject: nothing\r\n"), 452)
        self.assertEqual(r.esc, "4.7.1")

    def test_header_block_read_from_a_file_spool(self):
        d = self.start_daemon(plugins=["headers"] + MAILDIR, settings={"limits": {"memory_spool": 4096}})
        big = "x" * 70 + "\r\n"
        self.send(d, msg(GOOD, big * 2000), 250)
        r = self.send(d, msg(GOOD + "Subject: twice\r\n", big * 2000), 552)
        self.assertIn("Only one Subject header allowed", r.text)
        self.assertDelivered(d, 1)

    def test_relay_clients_are_not_checked(self):
        d = self.start_daemon(plugins=["relay", "headers"] + MAILDIR, files={"relayclients": "127.0.0.1\n"})
        self.send(d, msg("Subject: from a relay client\r\n"), 250)
        self.assertIn("headers: skip, relay client", d.stderr_text())

    def test_bad_arguments_fail_start_up(self):
        for line, why in (("headers future soon", "future must be a number of days, not 'soon'"),
                          ("headers require From,,Date", "require: not a header name: ''"),
                          ("headers reject 2", "reject must be 0, 1 or naughty")):
            with self.subTest(line=line):
                d = self.start_daemon(plugins=[line] + MAILDIR, wait=False, check_exit=False)
                self.assertNotEqual(d.wait(10), 0)
                self.assertIn(why, d.stderr_text())


class LoopTest(HeaderChecksCase):

    def test_hops_counted_with_our_received(self):
        d = self.start_daemon(plugins=["loop 5"] + MAILDIR)
        three = "Received: from a by b; x\r\n" * 2 + "Delivered-To: x@example.test\r\n"
        self.send(d, msg(three + GOOD), 250)                          # 3 + ours = 4 < 5
        r = self.send(d, msg(three + "received: from c\r\n\tby d; y\r\n" + GOOD), 554)   # 4 + ours = 5
        self.assertEqual(r.esc, "5.4.6")
        self.assertIn("Too many hops", r.text)
        self.assertDelivered(d, 1)
        self.assertIn("loop: fail, 5 hops (limit 5)", d.stderr_text())

    def test_default_limit_is_100(self):
        d = self.start_daemon(plugins=["loop"] + MAILDIR)
        self.send(d, msg("Received: x\r\n" * 98 + GOOD), 250)
        self.send(d, msg("Received: x\r\n" * 99 + GOOD), 554)

    def test_bad_argument(self):
        d = self.start_daemon(plugins=["loop many"] + MAILDIR, wait=False, check_exit=False)
        self.assertNotEqual(d.wait(10), 0)
        self.assertIn("MAX_HOPS must be a positive number, not 'many'", d.stderr_text())


class BogusBounceTest(HeaderChecksCase):

    def test_deny(self):
        d = self.start_daemon(plugins=["bogus_bounce deny"] + MAILDIR)
        r = self.send(d, msg(GOOD), 552, sender="", rcpts=("a@example.test", "b@example.test"))
        self.assertIn("this bounce message does not have 1 recipient", r.text)
        r = self.send(d, msg("Return-Path: <x@example.org>\r\n" + GOOD), 552, sender="")
        self.assertIn("a bounce return path must be empty (RFC 3834)", r.text)
        self.send(d, msg("Return-Path: <>\r\n" + GOOD), 250, sender="")
        self.send(d, msg(GOOD), 250, sender="")
        self.send(d, msg(GOOD), 250, rcpts=("a@example.test", "b@example.test"))   # not a bounce
        self.assertDelivered(d, 3)

    def test_log_is_the_default_and_denysoft_defers(self):
        d = self.start_daemon(plugins=["bogus_bounce"] + MAILDIR)
        self.send(d, msg(GOOD), 250, sender="", rcpts=("a@example.test", "b@example.test"))
        self.assertIn("bogus_bounce: fail, tolerated, bogus bounce to: <a@example.test>,<b@example.test>",
                      d.stderr_text())
        d2 = self.start_daemon(plugins=["bogus_bounce denysoft"] + MAILDIR)
        r = self.send(d2, msg("Return-Path: <x@example.org>\r\n" + GOOD), 452, sender="")
        self.assertEqual(r.esc, "4.7.1")


# --- uribl -----------------------------------------------------------------------------------

ZONES = """$TTL 60
uribl.test.     60 IN SOA ns.test. h.test. 1 60 60 60 30
spam-b64.test.uribl.test.  IN A   127.0.0.2
spam-b64.test.uribl.test.  IN TXT "Blocked, see http://uribl.test/spam-b64.test"
spam-qp.test.uribl.test.   IN A   127.0.0.2
bare-spam.zz.uribl.test.   IN A   127.0.0.2
attached.test.uribl.test.  IN A   127.0.0.2
grey.test.uribl.test.      IN A   127.0.0.4
9.2.0.192.uribl.test.      IN A   127.0.0.2
!servfail broken.test.uribl.test
"""


def b64_lines(text):
    data = base64.b64encode(text.encode()).decode()
    return "\r\n".join(data[i:i + 76] for i in range(0, len(data), 76))


def multipart(plain_b64, html_qp, attachment=""):
    parts = [
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n" + b64_lines(plain_b64),
        "Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" + html_qp,
    ]
    if attachment:
        parts.append("Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                     + b64_lines(attachment))
    body = "This is a MIME message.\r\n"
    for p in parts:
        body += "--BOUNDARY\r\n" + p + "\r\n"
    body += "--BOUNDARY--\r\n"
    return msg(GOOD + "MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"BOUNDARY\"\r\n", body)


CLEAN_QP = "<p>Nothing to see at <a href=3D\"http://www.clean.test/\">clean</a></p>\r\n"


class UriblTest(HeaderChecksCase):

    def daemon(self, args="", zones_file="uribl.test\n", extra_files=None):
        self.dns = DnsServer(ZONES).start()
        self.addCleanup(self.dns.stop)
        files = {"uribl_zones": zones_file}
        files.update(extra_files or {})
        return self.start_daemon(plugins=[("uribl " + args).strip()] + MAILDIR, files=files,
                                 settings={"dns": {"servers": [self.dns.address], "timeout": 2, "attempts": 1}})

    def test_listed_domain_in_a_base64_part_is_refused(self):
        d = self.daemon("action deny")
        raw = multipart("Great offer: https://www.spam-b64.test/buy?now=1\r\n", CLEAN_QP)
        self.assertNotIn(b"spam-b64", raw)   # only the decoded part names it
        r = self.send(d, raw, 552)
        self.assertEqual(r.esc, "5.7.1")
        self.assertIn("spam-b64.test in uribl.test: Blocked, see http://uribl.test/spam-b64.test", r.text)
        self.assertEqual(self.dns.queries("spam-b64.test.uribl.test", "A"), 1)
        self.assertEqual(self.dns.queries("clean.test.uribl.test", "A"), 1)
        self.assertDelivered(d, 0)

    def test_listed_domain_in_a_quoted_printable_part_is_refused(self):
        d = self.daemon("action deny")
        # A soft line break runs through the host name: only the decoded text has it whole.
        qp = "<p>Click <a href=3D\"http://mail.spam-=\r\nqp.test/x\">here</a></p>\r\n"
        raw = multipart("Nothing here, see http://clean.test/\r\n", qp)
        r = self.send(d, raw, 552)
        self.assertIn("spam-qp.test in uribl.test: 127.0.0.2", r.text)
        self.assertEqual(self.dns.queries("spam-qp.test.uribl.test", "A"), 1)

    def test_unlisted_domains_pass(self):
        d = self.daemon("action deny")
        self.send(d, multipart("See https://clean.test/ and www.other.zz\r\n", CLEAN_QP), 250)
        [m] = self.assertDelivered(d, 1)
        self.assertNotIn(b"X-URIBL-Match", m.raw)
        self.assertEqual(self.dns.queries("clean.test.uribl.test", "A"), 1)
        self.assertEqual(self.dns.queries("other.zz.uribl.test", "A"), 1)
        self.assertIn("uribl: pass, 2 lookups, none listed", d.stderr_text())

    def test_attachments_are_not_scanned_and_default_action_adds_a_header(self):
        d = self.daemon()
        raw = multipart("Text mentions bare-spam.zz without a scheme.\r\n", CLEAN_QP,
                        attachment="binary http://attached.test/ payload")
        self.send(d, raw, 250)
        [m] = self.assertDelivered(d, 1)
        self.assertIn(b"X-URIBL-Match: bare-spam.zz in uribl.test: 127.0.0.2", m.raw)
        self.assertEqual(self.dns.queries("attached.test.uribl.test"), 0)

    def test_masks_and_zone_actions(self):
        d = self.daemon(zones_file="uribl.test 2 denysoft\n")
        self.send(d, msg(GOOD, "http://grey.test/\r\n"), 250)        # 127.0.0.4 & 2 == 0
        r = self.send(d, msg(GOOD, "http://spam-b64.test/\r\n"), 452)
        self.assertEqual(r.esc, "4.7.1")

    def test_addresses_whitelist_and_limit(self):
        d = self.daemon("action deny limit 2", extra_files={"uribl_whitelist_domains": "spam-b64.test\n"})
        self.send(d, msg(GOOD, "http://www.spam-b64.test/ http://a.test/ http://b.test/ http://c.test/\r\n"), 250)
        self.assertEqual(self.dns.queries("spam-b64.test.uribl.test"), 0)
        self.assertEqual(self.dns.queries("c.test.uribl.test"), 0)
        self.assertIn("uribl: 3 names found, only the first 2 looked up", d.stderr_text())
        r = self.send(d, msg(GOOD, "at http://192.0.2.9/index.html\r\n"), 552)
        self.assertIn("9.2.0.192 in uribl.test", r.text)

    def test_servfail_is_accepted_and_logged(self):
        d = self.daemon("action deny")
        self.send(d, msg(GOOD, "http://broken.test/\r\n"), 250)
        self.assertIn("uribl: broken.test.uribl.test: SERVFAIL", d.stderr_text())

    def test_bad_zone_line_fails_start_up(self):
        self.dns = None
        d = self.start_daemon(plugins=["uribl"] + MAILDIR, files={"uribl_zones": "uribl.test 2 reject\n"},
                              wait=False, check_exit=False)
        self.assertNotEqual(d.wait(10), 0)
        self.assertIn("uribl_zones: 'uribl.test 2 reject': unknown action 'reject'", d.stderr_text())

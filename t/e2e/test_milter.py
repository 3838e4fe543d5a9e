"""test_milter.py - client -> asmtpd (milter) -> real milters on loopback.

The filters are python3-milter programs (milter_support.TestMilter: libmilter underneath, so
the protocol is the real one) whose behaviour the message chooses, and Debian's opendkim, which
signs through the plugin. Covered: the macros and arguments each step sends; every end-of-
message action (add/change/insert/delete header, add/delete recipient, change sender, replace
body, quarantine, discard, reject, tempfail, one-line and multi-line reply codes); per-
recipient rejects; ACCEPT/DISCARD/TEMPFAIL before the end; one connection for several
messages (ABORT between them); a filter that sleeps past command_timeout and content_timeout;
default_action tempfail/reject/accept with the filter down; two filters in order; opendkim's
signature verified by dkimpy.
Skipped, with the reason, only when python3-milter is not installed (scripts/bootstrap).
Owner: the milter plugin (issue 13).
"""

import re
import shutil
import socket
import struct
import tempfile
import threading
import unittest
from pathlib import Path

from harness import E2ETestCase, free_port
from milter_support import SharedTestMilter, TestMilter, milter_unavailable

WHY_NOT = milter_unavailable()


def message(subject, extra=b"", body=b"Hello milter.\r\n"):
    return (b"From: Alice <alice@example.org>\r\nTo: bob@example.com\r\nSubject: " + subject.encode() +
            b"\r\nDate: Wed, 02 Dec 2026 12:00:00 +0000\r\nMessage-ID: <m.1@example.org>\r\n" + extra +
            b"\r\n" + body)


def fields(raw, name):
    head = raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0].decode(errors="replace")
    out = []
    for f in re.split(r"\n(?![ \t])", head):
        n, _, v = f.partition(":")
        if n.lower() == name.lower():
            out.append(re.sub(r"\s+", " ", v).strip())
    return out


def field_names(raw):
    head = raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0].decode(errors="replace")
    return [f.partition(":")[0] for f in re.split(r"\n(?![ \t])", head)]


@unittest.skipIf(WHY_NOT is not None, WHY_NOT or "")
class MilterTest(SharedTestMilter, E2ETestCase):

    def daemon(self, *milters, files=None):
        lines = list(milters) or [f"milter socket {self.milter.socket} command_timeout 2 content_timeout 2"]
        return self.start_daemon(plugins=lines + ["rcpt_ok", "queue/maildir {maildir}"],
                                 files=dict({"rcpthosts": "example.com\n"}, **(files or {})))

    def send(self, d, msg, sender="s@example.org", rcpts=("bob@example.com",), expect=250):
        c = self.client(d, timeout=30)
        c.ehlo()
        r = c.send_mail(sender=sender, rcpts=list(rcpts), body=msg)
        self.assertEqual(r.code, expect, r.raw)
        c.cmd("QUIT", 221)
        return r

    def only(self, d):
        [m] = self.assertDelivered(d, 1)
        return m

    # ---- steps and macros ----------------------------------------------------------------

    def test_every_step_reaches_the_filter_with_macros(self):
        d = self.daemon()
        self.send(d, message("plain"), rcpts=["bob@example.com", "carol@example.com"])
        m = self.only(d)
        self.assertEqual(fields(m.raw, "X-Milter-one"), ["seen"])
        [mail] = self.milter.wait_events("mail", 1)
        [conn] = [e for e in self.milter.events("connect") if e["cid"] == mail["cid"]]
        self.assertEqual(conn["macros"]["{client_addr}"], "127.0.0.1")
        self.assertIn("j", conn["macros"])
        self.assertEqual(conn["macros"]["v"], "asmtpd")
        self.assertIn("[127.0.0.1]", conn["macros"]["_"])
        self.assertTrue(conn["macros"]["{client_port}"].isdigit())
        [helo] = [e for e in self.milter.events("helo") if e["cid"] == mail["cid"]]
        self.assertTrue(helo["helo"])
        self.assertEqual(mail["addr"], "<s@example.org>")
        self.assertEqual(mail["macros"]["{mail_addr}"], "s@example.org")
        self.assertTrue(mail["macros"]["i"])
        rcpts = self.milter.events("rcpt")
        self.assertEqual([r["addr"] for r in rcpts], ["<bob@example.com>", "<carol@example.com>"])
        self.assertEqual(rcpts[1]["macros"]["{rcpt_addr}"], "carol@example.com")
        [eoh] = self.milter.events("eoh")
        names = [h[0] for h in eoh["headers"]]
        self.assertEqual(names[0], "Received")   # ours first, as Postfix shows its own
        self.assertIn("Subject", names)
        self.assertIn(["Subject", "plain"], eoh["headers"])
        [eom] = self.milter.events("eom")
        self.assertEqual(eom["body"], "Hello milter.\r\n")
        self.assertEqual(eom["macros"]["i"], mail["macros"]["i"])
        self.assertTrue(m.raw.replace(b"\r\n", b"\n").endswith(b"\n\nHello milter.\n"))

    def test_one_connection_for_several_messages(self):
        d = self.daemon()
        c = self.client(d, timeout=30)
        c.ehlo()
        for i in range(3):
            self.assertEqual(c.send_mail(sender="s@example.org", rcpts=["bob@example.com"],
                                         body=message(f"n{i}")).code, 250)
        c.cmd("MAIL FROM:<s@example.org>", 250)
        c.cmd("RSET", 250)   # a message begun and dropped: ABORT
        c.cmd("QUIT", 221)
        self.assertDelivered(d, 3)
        eoms = self.milter.wait_events("eom", 3)
        self.assertEqual(len(eoms), 3)
        cid = eoms[0]["cid"]
        self.assertEqual({e["cid"] for e in eoms}, {cid})   # one milter connection, three messages
        self.assertEqual(len([e for e in self.milter.events("connect") if e["cid"] == cid]), 1)
        self.assertEqual(len(self.milter.wait_events("abort", 1, cid=cid)), 1)
        self.assertTrue(self.milter.wait_events("close", 1, cid=cid))

    # ---- end-of-message actions -----------------------------------------------------------

    def test_header_actions(self):
        d = self.daemon()
        self.send(d, message("ADDHDR CHGHDR INSHDR DELHDR", extra=b"X-Remove-Me: please\r\n"))
        m = self.only(d)
        self.assertEqual(fields(m.raw, "X-Added"), ["added by one"])
        self.assertEqual(fields(m.raw, "Subject"), ["changed subject"])
        self.assertEqual(fields(m.raw, "X-Remove-Me"), [])
        self.assertEqual(fields(m.raw, "X-Inserted"), ["at the top"])
        names = field_names(m.raw)
        self.assertLess(names.index("X-Inserted"), names.index("From"))
        self.assertLess(names.index("From"), names.index("X-Added"))

    def test_recipient_and_sender_actions(self):
        d = self.daemon()
        self.send(d, message("ADDRCPT DELRCPT CHGFROM"), rcpts=["bob@example.com", "deleted@example.com"])
        m = self.only(d)
        self.assertEqual(fields(m.raw, "Return-Path"), ["<changed@example.org>"])
        self.assertEqual(fields(m.raw, "Delivered-To"), ["bob@example.com", "added@example.com"])
        log = d.stderr_text()
        self.assertIn("addrcpt <added@example.com>", log)
        self.assertIn("delrcpt <deleted@example.com>", log)
        self.assertIn("chgfrom <s@example.org> -> <changed@example.org>", log)

    def test_addrcpt_par(self):
        d = self.daemon()
        self.send(d, message("ADDRCPTPAR"))
        m = self.only(d)
        self.assertIn("addrcpt <addedpar@example.com>", d.stderr_text())
        self.assertEqual(fields(m.raw, "Delivered-To"), ["bob@example.com", "addedpar@example.com"])

    def test_replace_body(self):
        d = self.daemon()
        self.send(d, message("REPLBODY", body=b"the original body\r\n" * 50))
        m = self.only(d)
        head, _, body = m.raw.replace(b"\r\n", b"\n").partition(b"\n\n")
        self.assertEqual(body, b"replaced body line 1\nreplaced body line 2\n")
        self.assertIn(b"Subject: REPLBODY", head)
        self.assertIn("body replaced", d.stderr_text())

    def test_quarantine(self):
        d = self.daemon()
        self.send(d, message("QUARANTINE"))
        m = self.only(d)
        self.assertEqual(fields(m.raw, "X-Quarantine"), ["milter: held by the test milter"])
        self.assertIn("quarantine: held by the test milter", d.stderr_text())

    def test_discard_accepts_and_drops(self):
        d = self.daemon()
        r = self.send(d, message("DISCARD"))
        self.assertEqual(r.code, 250)
        self.assertDelivered(d, 0)
        self.assertIn("message discarded", d.stderr_text())
        # DISCARD at MAIL: the rest of the message is not shown, and it is dropped too.
        self.send(d, message("plain"), sender="discard@example.org")
        self.assertDelivered(d, 0)

    def test_reject_tempfail_and_reply_codes(self):
        d = self.daemon()
        r = self.send(d, message("REJECT"), expect=550)
        self.assertEqual(r.esc, "5.7.1")
        r = self.send(d, message("TEMPFAIL"), expect=451)
        self.assertEqual(r.esc, "4.7.1")
        r = self.send(d, message("REPLYCODE"), expect=451)
        self.assertEqual(r.esc, "4.7.0")
        self.assertIn("come back later", r.text)
        r = self.send(d, message("MULTILINE"), expect=550)
        self.assertEqual(r.esc, "5.7.1")
        self.assertEqual(r.raw.count(b"550-5.7.1"), 2, r.raw)
        for line in ("first line", "second line", "third line"):
            self.assertIn(line, r.text)
        self.assertDelivered(d, 0)

    def test_per_recipient_reject_and_mail_tempfail(self):
        d = self.daemon()
        c = self.client(d, timeout=30)
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.org>", 250)
        r = c.cmd("RCPT TO:<reject-me@example.com>", 550)
        self.assertEqual(r.esc, "5.7.1")
        r = c.cmd("RCPT TO:<code-x@example.com>", 550)
        self.assertEqual(r.esc, "5.1.1")
        self.assertIn("no such user", r.text)
        self.assertIn("really not here", r.text)
        c.cmd("RCPT TO:<bob@example.com>", 250)
        c.cmd("DATA", 354)
        c.send(message("plain") + b".\r\n")
        self.assertEqual(c.read_reply(30).code, 250)
        r = c.cmd("MAIL FROM:<tempfail@example.org>", 451)
        self.assertEqual(r.esc, "4.7.1")
        c.cmd("QUIT", 221)
        m = self.only(d)
        self.assertEqual(fields(m.raw, "Delivered-To"), ["bob@example.com"])

    def test_large_message_streamed_in_chunks_over_a_unix_socket(self):
        um = TestMilter("unix", unix=True).start()
        self.addCleanup(um.cleanup)
        d = self.daemon(f"milter socket {um.socket}")
        line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789\r\n"   # 74 octets
        body = line * 4000                                                                   # 296 000 octets
        self.send(d, message("CHGHDR", body=body))
        m = self.only(d)
        self.assertEqual(fields(m.raw, "Subject"), ["changed subject"])
        self.assertEqual(fields(m.raw, "X-Milter-unix"), ["seen"])
        self.assertTrue(m.raw.replace(b"\r\n", b"\n").endswith(body.replace(b"\r\n", b"\n")))
        [eom] = um.wait_events("eom", 1)
        self.assertEqual(len(eom["body"]), len(body))   # every chunk, in order, nothing lost
        self.assertEqual(eom["body"].encode("latin-1"), body)

    # ---- deadlines and the filter down ----------------------------------------------------

    def test_command_timeout_applies_default_action(self):
        d = self.daemon(f"milter socket {self.milter.socket} command_timeout 1")
        c = self.client(d, timeout=30)
        c.ehlo()
        r = c.cmd("MAIL FROM:<sleep@example.org>", 451)
        self.assertEqual(r.esc, "4.7.1")
        r = c.cmd("MAIL FROM:<s@example.org>", 451)   # dropped for the session
        c.cmd("QUIT", 221)
        self.assertRegex(d.stderr_text(), r"no reply within 1000 ms; default_action tempfail")

    def test_content_timeout_with_accept(self):
        d = self.daemon(f"milter socket {self.milter.socket} content_timeout 1 default_action accept")
        self.send(d, message("SLEEPEOM"))
        m = self.only(d)
        self.assertEqual(fields(m.raw, "X-Milter-one"), [])
        self.assertIn("default_action accept", d.stderr_text())

    def test_progress_keeps_the_exchange_alive(self):
        d = self.daemon(f"milter socket {self.milter.socket} content_timeout 2")   # 4 x 0.75 s
        self.send(d, message("PROGRESS"))
        self.assertEqual(fields(self.only(d).raw, "X-Milter-one"), ["seen"])

    def test_filter_down_default_actions(self):
        sock = f"inet:{free_port()}@127.0.0.1"
        for action, code in (("tempfail", 451), ("reject", 550), ("accept", 250)):
            with self.subTest(default_action=action):
                d = self.daemon(f"milter socket {sock} default_action {action}")
                c = self.client(d, timeout=30)
                c.ehlo()
                c.cmd("MAIL FROM:<s@example.org>", code)
                if code == 250:
                    c.cmd("RCPT TO:<bob@example.com>", 250)
                c.cmd("QUIT", 221)
                self.assertIn(f"default_action {action}", d.stderr_text())
                d.stop()

    def test_protocol_errors_apply_default_action(self):
        optneg = lambda v, a, p: struct.pack(">IcIII", 13, b"O", v, a, p)   # noqa: E731
        cases = (("unknown reply 'Z'", b"\0\0\0\x01Z"),
                 ("protocol version 1", optneg(1, 0, 0)),
                 ("asks for protocol steps", optneg(6, 0, 0x800)),   # RCPT_REJ was not offered
                 ("over 2097152", b"\x7f\0\0\0O"),
                 ("answered OPTNEG with continue", b"\0\0\0\x01c"),
                 ("closed the connection", None))
        for why, answer in cases:
            with self.subTest(why=why):
                srv = socket.socket()
                srv.bind(("127.0.0.1", 0))
                srv.listen(8)
                self.addCleanup(srv.close)
                held = []

                def serve(srv=srv, answer=answer, held=held):
                    while True:
                        try:
                            conn, _ = srv.accept()
                        except OSError:
                            return
                        conn.recv(4096)   # the OPTNEG
                        if answer is None:
                            conn.close()
                        else:
                            conn.sendall(answer)
                            held.append(conn)

                threading.Thread(target=serve, daemon=True).start()
                d = self.daemon(f"milter socket inet:{srv.getsockname()[1]}@127.0.0.1 command_timeout 5")
                c = self.client(d, timeout=30)
                c.ehlo()
                c.cmd("MAIL FROM:<s@example.org>", 451)
                c.cmd("QUIT", 221)
                self.assertIn(why, d.stderr_text())
                d.stop()
                srv.close()
                for conn in held:
                    conn.close()

    def test_unix_socket_down_and_bad_arguments(self):
        d = self.daemon("milter socket unix:/nonexistent/milter.sock")
        c = self.client(d, timeout=30)
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.org>", 451)
        c.cmd("QUIT", 221)
        for bad, why in (("milter", "usage: milter socket"), ("milter socket inet:x@127.0.0.1", "bad port"),
                         ("milter socket inet:10025@mx.example", "IP address or localhost"),
                         (f"milter socket {self.milter.socket} default_action maybe", "bad default_action"),
                         (f"milter socket {self.milter.socket} protocol 2", "only 6"),
                         (f"milter socket {self.milter.socket} mail_macros {{x", "bad macro name"),
                         (f"milter socket {self.milter.socket} reuse x", "bad reuse 'x'"),
                         (f"milter socket {self.milter.socket} reuse 2 reuse_idle 0", "bad reuse_idle '0'")):
            with self.subTest(line=bad):
                d = self.start_daemon(plugins=[bad, "rcpt_ok", "queue/maildir {maildir}"], wait=False,
                                      check_exit=False)
                code = d.wait(15)
                self.assertIsNotNone(code, "asmtpd started with " + bad)
                self.assertNotEqual(code, 0)
                self.assertIn(why, d.stderr_text())
                self.assertRegex(d.stderr_text(), r"plugins:1: ")

    # ---- several filters ------------------------------------------------------------------

    def test_two_milters_in_order(self):
        two = TestMilter("two").start()
        self.addCleanup(two.cleanup)
        d = self.daemon(f"milter socket {self.milter.socket}", f"milter:2 socket {two.socket}")
        self.send(d, message("ADDHDR CHGHDR"))
        m = self.only(d)
        names = field_names(m.raw)
        self.assertLess(names.index("X-Milter-one"), names.index("X-Milter-two"))
        # The second sees the message as the first left it (as in Postfix): the first's fields
        # and its changed Subject, so the second, which acts on the Subject's words, adds nothing.
        self.assertEqual(fields(m.raw, "X-Added"), ["added by one"])
        self.assertEqual(fields(m.raw, "Subject"), ["changed subject"])
        [eoh] = two.events("eoh")
        seen = [(n, v.strip()) for n, v in eoh["headers"]]
        self.assertIn(("X-Milter-one", "seen"), seen)
        self.assertIn(("X-Added", "added by one"), seen)
        self.assertIn(("Subject", "changed subject"), seen)
        self.assertNotIn(("Subject", "ADDHDR CHGHDR"), seen)
        # The first one refuses: the second never sees the message's end.
        two.clear()
        self.send(d, message("REJECT"), expect=550)
        self.assertEqual(two.events("eom"), [])


@unittest.skipIf(WHY_NOT is not None, WHY_NOT or "")
class OpenDkimMilterTest(E2ETestCase):
    """Debian's opendkim signs through the milter plugin; dkimpy verifies the result."""

    def test_opendkim_signs_through_the_plugin(self):
        import test_dkim_sign as dk
        from dns_support import DnsServer
        from opendkim_support import OpenDkim
        keydir = Path(tempfile.mkdtemp(prefix="asmtpd-milter-dkim-"))
        self.addCleanup(shutil.rmtree, keydir, True)
        pem, p = dk.make_key(keydir, "rsa")
        zone = ("$TTL 60\nexample.org. IN SOA ns.example.org. h.example.org. 1 60 60 60 30\n"
                f"mt._domainkey.example.org. IN TXT {dk.txt_strings(f'v=DKIM1; k=rsa; p={p}')}\n")
        dns = DnsServer(zone).start()
        self.addCleanup(dns.stop)
        od = OpenDkim(dns.port, mode="s", domain="example.org", selector="mt", key_file=str(pem)).start()
        self.addCleanup(od.cleanup)
        d = self.start_daemon(plugins=[f"milter socket inet:{od.port}@127.0.0.1", "rcpt_ok",
                                       "queue/maildir {maildir}"], files={"rcpthosts": "example.com\n"})
        c = self.client(d, timeout=30)
        c.ehlo()
        body = message("signed by opendkim", body=b"Hello.  Trailing blanks   \r\n\r\nend\r\n\r\n")
        self.assertEqual(c.send_mail(sender="alice@example.org", rcpts=["bob@example.com"], body=body).code, 250)
        c.cmd("QUIT", 221)
        [m] = self.assertDelivered(d, 1)
        raw = dk.crlf(m.raw)
        self.assertEqual(len(fields(raw, "DKIM-Signature")), 1, raw[:3000])
        self.assertIn("d=example.org", fields(raw, "DKIM-Signature")[0])
        self.assertEqual(dk.dkimpy_verify(raw, dns.port), ["pass"], od.log())


if __name__ == "__main__":
    unittest.main()

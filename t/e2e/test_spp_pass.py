"""test_spp_pass.py - the qmail-spp fork extension [pass], qmail's RELAYCLIENT recipient suffix,
and where [auth] headers go, against the real daemon.

[pass] (sagredo/agerstla) runs after a recipient passed every check, qmail's own included, with
SMTPRCPTCOUNT already counting it; asmtpd runs it at the rcpt_post hook, after the whole rcpt
chain (spp stands first in it and cannot know what rcpt_ok decides). The envelope is read back
from fake-qmail-queue. Owner: spp.
"""

import unittest

from harness import REPO
from spp_support import SPP_PLUGINS, SppTestCase, fx, record, say
from tls_support import b64, crypt_hash

FAKE_QQ = str(REPO / "t" / "fixtures" / "fake-qmail-queue")
QQ_PLUGINS = ["spp timeout 3", "check_badmailfrom at rcpt", "rcpt_ok qmail",
              f"queue/qmail-queue {FAKE_QQ} env FAKEQQ_DIR={{tmp}}/qq"]
PASS_LOG = "pass.log"


def envelope(d):
    """The envelopes fake-qmail-queue stored, oldest first, as (sender, [recipients])."""
    out = []
    for p in sorted((d.tmp / "qq").iterdir(), key=lambda p: p.stat().st_mtime_ns):
        if p.name.startswith("."):
            continue
        parts = (p / "envelope").read_bytes().split(b"\0")
        out.append((parts[0][1:].decode(), [x[1:].decode() for x in parts[1:] if x]))
    return out


class SppPassTest(SppTestCase):

    def start_qq(self, smtpplugins, **kw):
        d = self.start_spp(smtpplugins, plugins=QQ_PLUGINS, wait=False, **kw)
        (d.tmp / "qq").mkdir()
        d.wait_ready()
        return d

    def data(self, c, subject="t"):
        c.cmd("DATA", 354)
        c.send(f"Subject: {subject}\r\n\r\nx\r\n.\r\n".encode())
        return c.expect(250)

    # ---- [pass]

    def test_pass_runs_only_for_fully_accepted_recipients_with_the_count(self):
        rcpt = ":case \"$SMTPRCPTTO\" in reject@*) echo 'E550 5.7.1 rejected by plugin';; esac"
        d = self.start_qq(f"[rcpt]\n{rcpt}\n"
                          f"[pass]\n{record('PASS', 'SMTPRCPTTO', 'SMTPRCPTCOUNT', 'SMTPRCPTCOUNTALL', log=PASS_LOG)}\n"
                          f"[data]\n{record('DATA', 'SMTPRCPTCOUNT', log=PASS_LOG)}\n")
        c = self.session(d)
        c.cmd("MAIL FROM:<s@example.test>", 250)
        c.cmd("RCPT TO:<one@example.test>", 250)
        c.cmd("RCPT TO:<reject@example.test>", 550)   # refused by [rcpt]: no [pass]
        c.cmd("RCPT TO:<three@foreign.test>", 553)    # refused by rcpthosts after spp: no [pass]
        c.cmd("RCPT TO:<four@example.test>", 250)
        self.data(c)
        self.assertEqual(self.lines(d, PASS_LOG), [
            "PASS SMTPRCPTTO='one@example.test' SMTPRCPTCOUNT='1' SMTPRCPTCOUNTALL='1'",
            "PASS SMTPRCPTTO='four@example.test' SMTPRCPTCOUNT='2' SMTPRCPTCOUNTALL='4'",
            "DATA SMTPRCPTCOUNT='2'",
        ])
        self.assertEqual(envelope(d), [("s@example.test", ["one@example.test", "four@example.test"])])

    def test_pass_after_O_in_rcpt_and_relay(self):
        # O opens relaying for that recipient: it is accepted, so [pass] runs for it.
        d = self.start_qq(f"[rcpt]\n{say('O')}\n[pass]\n{record('PASS', 'SMTPRCPTTO', log=PASS_LOG)}\n")
        c = self.session(d)
        c.cmd("MAIL FROM:<s@example.test>", 250)
        c.cmd("RCPT TO:<x@foreign.test>", 250)
        self.assertEqual(self.lines(d, PASS_LOG), ["PASS SMTPRCPTTO='x@foreign.test'"])

    def test_pass_E_takes_the_recipient_out_and_sends_one_reply(self):
        p1 = ":case \"$SMTPRCPTTO\" in late@*) echo 'E450 4.7.1 try later';; esac"
        d = self.start_qq(f"[pass]\n{p1}\n{record('P2', 'SMTPRCPTTO', log=PASS_LOG)}\n")
        c = self.session(d)
        c.cmd("MAIL FROM:<s@example.test>", 250)
        self.assertReply(c.cmd("RCPT TO:<late@example.test>", 450), "450 4.7.1 try later")
        c.cmd("RCPT TO:<b@example.test>", 250)
        c.cmd("NOOP", 250)                            # in step: exactly one reply per command
        self.data(c)
        self.assertEqual(self.lines(d, PASS_LOG), ["P2 SMTPRCPTTO='b@example.test'"])
        self.assertEqual(envelope(d), [("s@example.test", ["b@example.test"])])

    def test_pass_C_changes_the_stored_recipient_and_H_goes_into_the_message(self):
        d = self.start_qq(f"[pass]\n{say('Cmoved@example.org', 'HX-Pass: 1')}\n"
                          f"{record('P2', 'SMTPRCPTTO', log=PASS_LOG)}\n")
        c = self.session(d)
        c.cmd("MAIL FROM:<s@example.test>", 250)
        r = c.cmd("RCPT TO:<a@example.test>", 250)
        self.assertIn("moved@example.org", r.text)
        self.data(c)
        self.assertEqual(self.lines(d, PASS_LOG), ["P2 SMTPRCPTTO='moved@example.org'"])
        self.assertEqual(envelope(d), [("s@example.test", ["moved@example.org"])])
        [qq] = [p for p in (d.tmp / "qq").iterdir() if not p.name.startswith(".")]
        self.assertIn(b"\nX-Pass: 1\n", (qq / "message").read_bytes().replace(b"\r\n", b"\n"))

    def test_pass_failure_is_451_and_takes_the_recipient_out(self):
        d = self.start_qq("[pass]\n:kill -SEGV $$\n")
        c = self.session(d)
        c.cmd("MAIL FROM:<s@example.test>", 250)
        self.assertReply(c.cmd("RCPT TO:<a@example.test>", 451),
                         "451 qmail-spp failure: :kill -SEGV $$: child crashed (#4.3.0)")
        c.cmd("DATA", 503)

    # ---- RELAYCLIENT suffix

    def test_relayclient_suffix_is_appended_to_accepted_recipients(self):
        d = self.start_qq(f"[connection]\n{say('SRELAYCLIENT=-changed')}\n"
                          f"[rcpt]\n:case \"$SMTPRCPTTO\" in c@*) echo Cnew@example.org;; esac\n"
                          f"[pass]\n{record('PASS', 'SMTPRCPTTO', 'RELAYCLIENT', log=PASS_LOG)}\n",
                          tcp_env='127.0.0.1:allow,RELAYCLIENT="-gw"\n')
        c = self.session(d)
        c.cmd("MAIL FROM:<s@example.test>", 250)
        c.cmd("RCPT TO:<x@foreign.test>", 250)        # a relay client
        c.cmd("RCPT TO:<c@example.test>", 250)        # C-changed, then suffixed
        self.data(c)
        # The suffix is RELAYCLIENT as the session started: the [connection] S changed only
        # what programs see (SPP.md §4).
        self.assertEqual(envelope(d), [("s@example.test", ["x@foreign.test-gw", "new@example.org-gw"])])
        self.assertEqual(self.lines(d, PASS_LOG), [
            "PASS SMTPRCPTTO='x@foreign.test-gw' RELAYCLIENT='-changed'",
            "PASS SMTPRCPTTO='new@example.org-gw' RELAYCLIENT='-changed'",
        ])

    def test_relayclient_suffix_without_spp_and_empty_suffix(self):
        d = self.start_daemon(plugins=["relay", "rcpt_ok", f"queue/qmail-queue {FAKE_QQ} env FAKEQQ_DIR={{tmp}}/qq"],
                              files={"tcp.env": '127.0.0.1:allow,RELAYCLIENT="@gw.example"\n',
                                     "rcpthosts": "example.test\n"}, wait=False)
        (d.tmp / "qq").mkdir()
        d.wait_ready()
        c = self.client(d)
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.test>", 250)
        c.cmd("RCPT TO:<x@foreign.test>", 250)
        c.cmd("RCPT TO:<postmaster>", 250)
        self.data(c)
        self.assertEqual(envelope(d), [("s@example.test", ["x@foreign.test@gw.example", "postmaster@gw.example"])])
        # RELAYCLIENT="" (the usual case) relays and leaves addresses alone.
        d2 = self.start_qq("[rcpt]\n", tcp_env='127.0.0.1:allow,RELAYCLIENT=""\n')
        c2 = self.session(d2)
        c2.cmd("MAIL FROM:<s@example.test>", 250)
        c2.cmd("RCPT TO:<x@foreign.test>", 250)
        self.data(c2)
        self.assertEqual(envelope(d2), [("s@example.test", ["x@foreign.test"])])

    def test_relayclient_suffix_is_dropped_by_AUTH(self):
        d = self.start_spp("[auth]\n", plugins=["spp timeout 3", "auth/flat_file", "rcpt_ok qmail",
                                                 f"queue/qmail-queue {FAKE_QQ} env FAKEQQ_DIR={{tmp}}/qq"],
                           files={"flat_auth_pw": f"alice:{crypt_hash('pw')}\n"},
                           settings={"tls_before_auth": False},
                           tcp_env='127.0.0.1:allow,RELAYCLIENT="-gw"\n', wait=False)
        (d.tmp / "qq").mkdir()
        d.wait_ready()
        c = self.session(d)
        c.cmd("AUTH LOGIN", 334)
        c.cmd(b64("alice"), 334)
        c.cmd(b64("pw"), 235)
        c.cmd("MAIL FROM:<s@example.test>", 250)
        c.cmd("RCPT TO:<x@foreign.test>", 250)
        self.data(c)
        self.assertEqual(envelope(d), [("s@example.test", ["x@foreign.test"])])

    # ---- [auth] headers

    def test_auth_H_goes_into_the_first_message_only(self):
        d = self.start_spp(f"[auth]\n{say('HX-Auth-Checked: yes')}\n",
                           plugins=["spp timeout 3", "auth/flat_file"] + SPP_PLUGINS[1:],
                           files={"flat_auth_pw": f"alice:{crypt_hash('pw')}\n"},
                           settings={"tls_before_auth": False})
        c = self.session(d)
        c.cmd("AUTH LOGIN", 334)
        c.cmd(b64("alice"), 334)
        c.cmd(b64("pw"), 235)
        for subject in ("first", "second"):
            c.cmd("MAIL FROM:<alice@example.test>", 250)
            c.cmd("RCPT TO:<x@foreign.test>", 250)
            self.data(c, subject)
        msgs = {m.content.split(b"Subject: ")[1].split(b"\n")[0].strip(): m for m in self.assertDelivered(d, 2)}
        self.assertIn(b"X-Auth-Checked: yes", msgs[b"first"].content)
        self.assertNotIn(b"X-Auth-Checked", msgs[b"second"].content)


if __name__ == "__main__":
    unittest.main()

"""test_spp.py - SPP.md §8 conformance cases #1-#35 against the real daemon: the output language,
program failures, and how verdicts interact with qmail's own checks.

P1 is the program under test, P2 the next one in the same section (it records that it ran).
Cases #36-#49 are in test_spp_config.py and test_spp_limits.py. Owner: spp.
"""

import os
import shutil
import tempfile
import time
import unittest

from harness import REPO
from spp_support import FX, SppTestCase, failure, fx, record, say

REPO_FIXTURES = REPO / "t" / "fixtures"


class SppCommandsTest(SppTestCase):

    # ---- #1-#6: nothing, exit codes, failures, E

    def test_01_nothing_exit_0(self):
        d = self.start_spp(f"[mail]\n{say()}\n{record('P2')}\n")
        c = self.session(d)
        c.cmd("MAIL FROM:<s@example.test>", 250)
        self.assertEqual(self.lines(d), ["P2"])

    def test_02_nothing_exit_1(self):
        d = self.start_spp(f"[mail]\n:SAY_EXIT=1 {fx('say.sh')}\n{record('P2')}\n")
        c = self.session(d)
        c.cmd("MAIL FROM:<s@example.test>", 250)
        self.assertEqual(self.lines(d), ["P2"])

    def test_03_exit_120_cannot_execute(self):
        p1 = f":SAY_EXIT=120 {fx('say.sh')}"
        d = self.start_spp(f"[mail]\n{p1}\n{record('P2')}\n")
        c = self.session(d)
        self.assertReply(c.cmd("MAIL FROM:<s@example.test>", 451), failure(p1, "can't execute"))
        c.cmd("RCPT TO:<a@example.test>", 503)
        self.assertEqual(self.lines(d), [])

    def test_04_missing_program(self):
        p1 = str(FX / "no-such-program")
        d = self.start_spp(f"[mail]\n{p1}\n{record('P2')}\n")
        c = self.session(d)
        self.assertReply(c.cmd("MAIL FROM:<s@example.test>", 451), failure(p1, "can't execute"))
        c.cmd("RCPT TO:<a@example.test>", 503)
        self.assertEqual(self.lines(d), [])

    def test_05_sigsegv_is_a_crash(self):
        p1 = ":kill -SEGV $$"
        d = self.start_spp(f"[mail]\n{p1}\n{record('P2')}\n")
        c = self.session(d)
        self.assertReply(c.cmd("MAIL FROM:<s@example.test>", 451), failure(p1, "child crashed"))
        self.assertEqual(self.lines(d), [])

    def test_06_E_rejects_with_the_exact_text(self):
        d = self.start_spp(f"[mail]\n{say('E553 5.7.1 no')}\n{record('P2')}\n")
        c = self.session(d)
        self.assertReply(c.cmd("MAIL FROM:<s@example.test>", 553), "553 5.7.1 no")
        c.cmd("NOOP", 250)
        c.cmd("RCPT TO:<a@example.test>", 503)   # MAIL had no effect
        self.assertEqual(self.lines(d), [])

    # ---- #7-#11: N, O, A and qmail's own checks

    def test_07_N_then_badmailfrom_rejects_each_rcpt(self):
        d = self.start_spp(f"[mail]\n{say('N')}\n{record('P2')}\n")
        c = self.session(d)
        c.cmd("MAIL FROM:<bad@spam.test>", 250)
        r = c.cmd("RCPT TO:<a@example.test>", 553)
        self.assertIn("badmailfrom", r.text)
        self.assertReply(r, "553 sorry, your envelope sender is in my badmailfrom list (#5.7.1)")
        c.cmd("RCPT TO:<b@example.test>", 553)
        self.assertEqual(self.lines(d), [])

    def test_08_O_skips_badmailfrom(self):
        d = self.start_spp(f"[mail]\n{say('O')}\n{record('P2')}\n")
        c = self.session(d)
        c.cmd("MAIL FROM:<bad@spam.test>", 250)
        c.cmd("RCPT TO:<a@example.test>", 250)
        self.assertEqual(self.lines(d), [])
        # [D] the flag does not outlive the transaction: a new MAIL without O is checked again
        # (here every MAIL gets O, so the check is skipped again).
        c.cmd("RSET", 250)
        c.cmd("MAIL FROM:<bad@spam.test>", 250)
        c.cmd("RCPT TO:<a@example.test>", 250)

    def test_09_O_in_rcpt_opens_relaying(self):
        d = self.start_spp(f"[rcpt]\n{say('O')}\n{record('P2')}\n")
        c = self.session(d)
        c.cmd("MAIL FROM:<s@example.test>", 250)
        c.cmd("RCPT TO:<x@foreign.test>", 250)
        self.assertEqual(self.lines(d), [])

    def test_10_N_then_rcpthosts_rejects(self):
        d = self.start_spp(f"[rcpt]\n{say('N')}\n{record('P2')}\n")
        c = self.session(d)
        c.cmd("MAIL FROM:<s@example.test>", 250)
        self.assertReply(c.cmd("RCPT TO:<x@foreign.test>", 553),
                         "553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)")
        c.cmd("RCPT TO:<a@example.test>", 250)   # local domains still pass rcpthosts
        self.assertEqual(self.lines(d), [])

    def test_11_A_turns_spp_off_for_the_connection(self):
        d = self.start_spp(
            "[helo]\n" + record("HELO", log="all.log") + "\n"
            "[mail]\n" + record("MAIL", log="all.log") + "\n"
            "[rcpt]\n" + record("RCPT", log="all.log") + "\n" + say("A") + "\n" + record("P2") + "\n"
            "[data]\n" + record("DATA", log="all.log") + "\n")
        c = self.session(d)
        c.cmd("MAIL FROM:<s@example.test>", 250)
        c.cmd("RCPT TO:<a@example.test>", 250)      # the normal RCPT result
        c.cmd("RCPT TO:<x@foreign.test>", 553)      # qmail's checks still run
        c.cmd("RSET", 250)
        c.cmd("EHLO again.test", 250)
        c.cmd("MAIL FROM:<s@example.test>", 250)
        c.cmd("RCPT TO:<b@example.test>", 250)
        c.cmd("DATA", 354)
        c.send(b"Subject: a\r\n\r\nx\r\n.\r\n")
        c.expect(250)
        self.assertEqual(self.lines(d, "all.log"), ["HELO", "MAIL", "RCPT"])
        self.assertEqual(self.lines(d), [])

    # ---- #12-#15: R, D, P

    def test_12_R_replies_then_closes(self):
        d = self.start_spp(f"[rcpt]\n{say('R550 bye')}\n{record('P2')}\n")
        c = self.session(d)
        c.cmd("MAIL FROM:<s@example.test>", 250)
        self.assertReply(c.cmd("RCPT TO:<a@example.test>", 550), "550 bye")
        self.assertClosed(c)
        self.assertEqual(c.pending(), b"")   # no 221
        self.assertEqual(self.lines(d), [])

    def test_13_D_closes_without_a_reply(self):
        d = self.start_spp(f"[rcpt]\n{say('D')}\n{record('P2')}\n")
        c = self.session(d)
        c.cmd("MAIL FROM:<s@example.test>", 250)
        c.send("RCPT TO:<a@example.test>\r\n")
        self.assertClosed(c)
        self.assertEqual(c.pending(), b"")
        self.assertEqual(self.lines(d), [])

    def test_14_P_then_N_is_one_reply(self):
        d = self.start_spp(f"[rcpt]\n{say('P250-note', 'N')}\n{record('P2')}\n")
        c = self.session(d)
        c.cmd("MAIL FROM:<s@example.test>", 250)
        r = c.cmd("RCPT TO:<a@example.test>", 250)
        self.assertEqual(len(r.lines), 2)
        self.assertTrue(r.raw.startswith(b"250-"))
        self.assertIn("note", r.lines[0])
        c.cmd("NOOP", 250)   # nothing left over: it was exactly one reply
        self.assertEqual(self.lines(d), [])

    def test_15_P_then_E_is_one_multiline_refusal(self):
        d = self.start_spp(f"[rcpt]\n{say('P550-one', 'E550 two')}\n{record('P2')}\n")
        c = self.session(d)
        c.cmd("MAIL FROM:<s@example.test>", 250)
        self.assertReply(c.cmd("RCPT TO:<a@example.test>", 550), "550-one\n550 two")
        c.cmd("NOOP", 250)
        self.assertEqual(self.lines(d), [])

    # ---- #16-#21: S, U, C, H

    def test_16_S_reaches_later_sections_and_the_queue(self):
        d = self.start_spp(f"[mail]\n{say('Sfoo=bar')}\n{record('P2')}\n"
                           f"[rcpt]\n{record('RCPT', 'foo', log='rcpt.log')}\n")
        c = self.session(d)
        c.cmd("MAIL FROM:<s@example.test>", 250)
        c.cmd("RCPT TO:<a@example.test>", 250)
        self.assertEqual(self.lines(d), ["P2"])
        self.assertEqual(self.lines(d, "rcpt.log"), ["RCPT foo='bar'"])

    def test_17_U_removes_an_access_map_variable(self):
        d = self.start_spp(f"[mail]\n{say('Ufoo')}\n{record('P2', 'foo', 'kept')}\n"
                           f"[rcpt]\n{record('RCPT', 'foo', 'kept', log='rcpt.log')}\n",
                           tcp_env='127.0.0.1:allow,foo="frommap",kept="yes"\n')
        c = self.session(d)
        c.cmd("MAIL FROM:<s@example.test>", 250)
        c.cmd("RCPT TO:<a@example.test>", 250)
        self.assertEqual(self.lines(d), ["P2 foo=<unset> kept='yes'"])
        self.assertEqual(self.lines(d, "rcpt.log"), ["RCPT foo=<unset> kept='yes'"])

    def test_18_C_changes_the_recipient_for_later_programs_and_the_envelope(self):
        fake_qq = str(REPO_FIXTURES / "fake-qmail-queue")
        d = self.start_spp(f"[rcpt]\n{say('Cnew@example.org')}\n{record('P2', 'SMTPRCPTTO')}\n",
                           plugins=["spp timeout 3", "rcpt_ok qmail",
                                    f"queue/qmail-queue {fake_qq} env FAKEQQ_DIR={{tmp}}/qq"], wait=False)
        (d.tmp / "qq").mkdir()
        d.wait_ready()
        c = self.session(d)
        c.cmd("MAIL FROM:<s@example.test>", 250)
        r = c.cmd("RCPT TO:<old@example.test>", 250)
        self.assertIn("new@example.org", r.text)
        c.cmd("DATA", 354)
        c.send(b"Subject: c\r\n\r\nx\r\n.\r\n")
        c.expect(250)
        self.assertEqual(self.lines(d), ["P2 SMTPRCPTTO='new@example.org'"])
        stored = [p for p in (d.tmp / "qq").iterdir() if not p.name.startswith(".")]
        self.assertEqual(len(stored), 1)
        env = (stored[0] / "envelope").read_bytes()
        self.assertEqual(env, b"Fs@example.test\0Tnew@example.org\0\0")

    def test_19_C_is_ignored_in_helo(self):
        d = self.start_spp(f"[helo]\n{say('Cx@y')}\n{record('P2')}\n")
        c = self.client(d)
        c.cmd("HELO client.test", 250)
        self.assertEqual(self.lines(d), ["P2"])

    def test_20_H_goes_right_after_Received(self):
        d = self.start_spp(f"[rcpt]\n{say('HX-T: 1')}\n{record('P2')}\n")
        c = self.session(d)
        self.assertEqual(c.send_mail(rcpts=("a@example.test",)).code, 250)
        [m] = self.assertDelivered(d, 1)
        self.assertIsNotNone(m.received)
        self.assertTrue(m.content.startswith(m.stored_form(b"X-T: 1\r\nSubject: t\r\n")), m.raw[:400])
        self.assertEqual(self.lines(d), ["P2"])

    def test_21_H_of_a_rejected_rcpt_still_reaches_the_message(self):
        prog = (":case $SMTPRCPTTO in first@*) echo 'HX-A: 1'; echo 'E550 no';; esac")
        d = self.start_spp(f"[rcpt]\n{prog}\n{record('P2', 'SMTPRCPTTO')}\n")
        c = self.session(d)
        c.cmd("MAIL FROM:<s@example.test>", 250)
        self.assertReply(c.cmd("RCPT TO:<first@example.test>", 550), "550 no")
        c.cmd("RCPT TO:<second@example.test>", 250)
        c.cmd("DATA", 354)
        c.send(b"Subject: h\r\n\r\nx\r\n.\r\n")
        c.expect(250)
        [m] = self.assertDelivered(d, 1)
        self.assertIn(m.stored_form(b"X-A: 1\r\n"), m.content)
        self.assertEqual(self.lines(d), ["P2 SMTPRCPTTO='second@example.test'"])

    # ---- #22-#27: deferred errors, [connection], [helo], [data]

    def test_22_LR_from_connection_rejects_every_rcpt_until_RSET(self):
        d = self.start_spp(f"[connection]\n{say('LR550 5.7.1 listed')}\n{record('P2')}\n"
                           f"[rcpt]\n{record('RCPT', log='rcpt.log')}\n")
        self.assertEqual(self.lines(d), ["P2"])   # the readiness probe's connection
        c = self.client(d)                        # greeting 220
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.test>", 250)
        self.assertReply(c.cmd("RCPT TO:<a@example.test>", 550), "550 5.7.1 listed")
        self.assertReply(c.cmd("RCPT TO:<b@example.test>", 550), "550 5.7.1 listed")
        self.assertEqual(self.lines(d, "rcpt.log"), [])
        c.cmd("RSET", 250)
        c.cmd("MAIL FROM:<s@example.test>", 250)
        c.cmd("RCPT TO:<a@example.test>", 250)
        self.assertEqual(self.lines(d, "rcpt.log"), ["RCPT"])
        self.assertEqual(self.lines(d), ["P2", "P2"])

    def test_23_LD_rejects_DATA_before_data_programs(self):
        d = self.start_spp(f"[mail]\n{say('LD451 later')}\n{record('P2')}\n"
                           f"[data]\n{record('DATA', log='data.log')}\n")
        c = self.session(d)
        c.cmd("MAIL FROM:<s@example.test>", 250)
        c.cmd("RCPT TO:<a@example.test>", 250)
        self.assertReply(c.cmd("DATA", 451), "451 later")
        self.assertReply(c.cmd("DATA", 451), "451 later")   # not consumed
        self.assertEqual(self.lines(d, "data.log"), [])
        self.assertEqual(self.lines(d), ["P2"])

    def test_24_E_in_connection_replaces_the_greeting(self):
        d = self.start_spp("[connection]\n")
        self.swap_smtpplugins(d, f"[connection]\n{say('E554 5.7.1 go away')}\n{record('P2')}\n")
        c = self.client(d, greet=False)
        self.assertReply(c.read_reply(), "554 5.7.1 go away")
        c.cmd("QUIT", 221)
        self.assertClosed(c)
        self.assertEqual(self.lines(d), [])

    def test_25_E_in_helo(self):
        prog = ":case $SMTPHELOHOST in bad*) echo 'E550 bad helo';; esac"
        d = self.start_spp(f"[helo]\n{record('H', 'SMTPHELOHOST', log='helo.log')}\n{prog}\n{record('P2')}\n")
        c = self.client(d)
        c.cmd("EHLO good.test", 250)
        self.assertReply(c.cmd("HELO bad.test", 550), "550 bad helo")
        # qmail needs no HELO; asmtpd does, so the session was greeted once before. The
        # refused HELO changed nothing: MAIL works.
        c.cmd("MAIL FROM:<s@example.test>", 250)
        self.assertEqual(self.lines(d, "helo.log"), ["H SMTPHELOHOST='good.test'", "H SMTPHELOHOST='bad.test'"])
        self.assertEqual(self.lines(d), ["P2"])

    def test_26_E_in_data_keeps_the_transaction(self):
        d = self.start_spp(f"[data]\n{record('DATA', log='data.log')}\n{say('E451 4.7.1 greylisted')}\n"
                           f"{record('P2')}\n")
        c = self.session(d)
        c.cmd("MAIL FROM:<s@example.test>", 250)
        c.cmd("RCPT TO:<a@example.test>", 250)
        self.assertReply(c.cmd("DATA", 451), "451 4.7.1 greylisted")
        self.assertReply(c.cmd("DATA", 451), "451 4.7.1 greylisted")
        c.cmd("RCPT TO:<b@example.test>", 250)
        self.assertEqual(self.lines(d, "data.log"), ["DATA", "DATA"])
        self.assertEqual(self.lines(d), [])

    def test_27_nothing_in_data(self):
        d = self.start_spp(f"[data]\n{say()}\n{record('P2')}\n")
        c = self.session(d)
        c.cmd("MAIL FROM:<s@example.test>", 250)
        c.cmd("RCPT TO:<a@example.test>", 250)
        c.cmd("DATA", 354)
        c.send(b"Subject: d\r\n\r\nx\r\n.\r\n")
        c.expect(250)
        self.assertEqual(self.lines(d), ["P2"])

    # ---- #28-#35: parsing corner cases, sh lines, slow programs

    def test_28_unknown_lowercase_and_empty_lines_are_ignored(self):
        d = self.start_spp(f"[mail]\n{say('Xfoo', 'e550 x', '')}\n{record('P2')}\n")
        c = self.session(d)
        c.cmd("MAIL FROM:<s@example.test>", 250)
        self.assertEqual(self.lines(d), ["P2"])

    def test_29_the_first_terminator_wins(self):
        d = self.start_spp(f"[mail]\n{say('N', 'E550 x')}\n{record('P2')}\n")
        c = self.session(d)
        c.cmd("MAIL FROM:<s@example.test>", 250)
        self.assertEqual(self.lines(d), [])

    def test_30_last_line_without_newline(self):
        d = self.start_spp(f"[mail]\n:{fx('say.sh')} -n 'E550 abc'\n{record('P2')}\n")
        c = self.session(d)
        self.assertReply(c.cmd("MAIL FROM:<s@example.test>", 550), "550 abc")
        self.assertIn("no newline", d.stderr_text())
        self.assertEqual(self.lines(d), [])

    def test_31_malformed_replies(self):
        for out in ("E", "Esorry"):
            with self.subTest(out=out):
                p1 = say(out)
                d = self.start_spp(f"[mail]\n{p1}\n{record('P2')}\n")
                c = self.session(d)
                self.assertReply(c.cmd("MAIL FROM:<s@example.test>", 451), failure(p1, "malformed reply"))
                c.cmd("NOOP", 250)
                self.assertEqual(self.lines(d), [])

    def test_32_sh_lines(self):
        d = self.start_spp(f"[mail]\n:echo E550 shell\n{record('P2')}\n")
        c = self.session(d)
        self.assertReply(c.cmd("MAIL FROM:<s@example.test>", 550), "550 shell")
        self.assertEqual(self.lines(d), [])

    def test_33_a_path_with_arguments_is_one_file_name(self):
        home = tempfile.mkdtemp(prefix="asmtpd-spp-home-")
        self.addCleanup(shutil.rmtree, home, True)
        os.makedirs(os.path.join(home, "plugins"))
        x = os.path.join(home, "plugins", "x")
        with open(x, "w") as f:
            f.write("#!/bin/sh\necho N\n")
        os.chmod(x, 0o755)
        # plugins/x exists (relative to qmail's home, the cwd) and would answer N; the line
        # "plugins/x -r foo" is taken whole as a file name, which does not exist.
        d = self.start_spp(f"[mail]\nplugins/x -r foo\n{record('P2')}\n", spp=f"spp timeout 3 cwd {home}")
        c = self.session(d)
        self.assertReply(c.cmd("MAIL FROM:<s@example.test>", 451), failure("plugins/x -r foo", "can't execute"))
        self.assertEqual(self.lines(d), [])
        # The same program without arguments runs.
        self.swap_smtpplugins(d, "[mail]\nplugins/x\n")
        c2 = self.session(d)
        c2.cmd("MAIL FROM:<s@example.test>", 250)

    def test_34_sh_exit_127_goes_on_with_a_warning(self):
        d = self.start_spp(f"[mail]\n:/nonexistent\n{record('P2')}\n")
        c = self.session(d)
        c.cmd("MAIL FROM:<s@example.test>", 250)
        self.assertEqual(self.lines(d), ["P2"])
        self.assertTrue(d.wait_for_log(r"warn .*:/nonexistent.*127"), d.stderr_tail())

    def test_35_N_then_sleep_delays_the_reply(self):
        d = self.start_spp(f"[mail]\n:{fx('say.sh')} -s 2 N\n{record('P2')}\n")
        c = self.session(d)
        t0 = time.monotonic()
        c.cmd("MAIL FROM:<s@example.test>", 250)
        self.assertGreaterEqual(time.monotonic() - t0, 2.0)
        self.assertEqual(self.lines(d), [])


if __name__ == "__main__":
    unittest.main()

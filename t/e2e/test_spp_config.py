"""test_spp_config.py - SPP.md §8 conformance cases about configuration and environment
(#38-#46; #44/#45 with AUTH through auth/flat_file), plus the per-client access map (tcp.env)
and the [X-data_post] extension, against the real daemon. Owner: spp.
"""

import unittest

from spp_support import SppTestCase, failure, fx, record, say
from tls_support import b64, cram_md5_response, crypt_hash, plain_response


AUTH_VARS = ("SMTPAUTHUSER", "SMTPAUTHMETHOD", "RELAYCLIENT", "TCPREMOTEINFO")
ALICE_PW = "alice pass:1"
ALICE_CRAM = "alice-cram"


class SppConfigTest(SppTestCase):

    def start_auth_spp(self, smtpplugins):
        """spp first, then AUTH by auth/flat_file (plaintext allowed), qmail's own checks."""
        return self.start_spp(smtpplugins,
                              files={"flat_auth_pw": f"alice:{crypt_hash(ALICE_PW)}:{ALICE_CRAM}\n"},
                              plugins=["spp timeout 3", "auth/flat_file", "check_badmailfrom at rcpt",
                                       "rcpt_ok qmail", "queue/maildir {maildir}"],
                              settings={"tls_before_auth": False, "limits": {"auth_failures_per_ip": 3}})

    def auth_login(self, c, user, password, code):
        c.cmd("AUTH LOGIN", 334)
        c.cmd(b64(user), 334)
        return c.cmd(b64(password), code)

    def test_38_NOSPP_with_no_config_file_is_a_normal_session(self):
        d = self.start_spp(None, spp="spp missing tempfail", tcp_env=':allow,NOSPP=""\n')
        c = self.session(d)
        self.assertEqual(c.send_mail(rcpts=("a@example.test",)).code, 250)
        self.assertDelivered(d, 1)

    def test_39_missing_config_file_gives_421_in_place_of_the_greeting(self):
        # qmail-spp's behaviour, chosen explicitly (without 'missing' it is a start-up error).
        d = self.start_spp(None, spp="spp missing tempfail")
        for _ in range(2):   # on every connection
            c = self.client(d, greet=False)
            self.assertReply(c.read_reply(), "421 unable to read controls (#4.3.0)")
            self.assertClosed(c)
        self.assertIn("cannot read", d.stderr_text())

    def test_39a_missing_config_file_without_missing_is_a_startup_error(self):
        from harness import run_asmtpd
        d = self.start_spp(None, wait=False, check_exit=False)
        r = run_asmtpd(["--config", str(d.config_dir), "--check"])
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr.decode(), r"plugins:1: plugin 'spp': \S+/smtpplugins does not exist: create it, "
                                            r"or say 'missing tempfail'")

    def test_39b_missing_disable(self):
        d = self.start_spp(None, spp="spp missing disable")
        c = self.session(d)
        self.assertEqual(c.send_mail(rcpts=("a@example.test",)).code, 250)

    def test_40_SPPCONFFILE_names_another_file(self):
        # A relative SPPCONFFILE resolves against qmail's home: the programs' cwd, here {tmp}.
        d = self.start_spp(f"[mail]\n{say('E550 default file')}\n", spp="spp timeout 3 cwd {tmp}",
                           tcp_env=':allow,SPPCONFFILE="control/alt"\n', wait=False)
        (d.tmp / "control").mkdir()
        (d.tmp / "control" / "alt").write_text(f"[mail]\n{say('E550 alt file')}\n")
        d.wait_ready()
        c = self.session(d)
        self.assertReply(c.cmd("MAIL FROM:<s@example.test>", 550), "550 alt file")

    def test_40b_empty_SPPCONFFILE_means_the_default(self):
        d = self.start_spp(f"[mail]\n{say('E550 default file')}\n", tcp_env=':allow,SPPCONFFILE=""\n')
        c = self.session(d)
        self.assertReply(c.cmd("MAIL FROM:<s@example.test>", 550), "550 default file")

    def test_41_section_header_parsing(self):
        d = self.start_spp(
            f"{record('PRE', log='runs.log')}\n"
            "[recipient]\n"
            f"{record('RECIPIENT', log='runs.log')}\n"
            "[RCPT]\n"
            f"{record('UPPER', log='runs.log')}\n"
            "[mail]\n"
            f"{record('MAIL', log='runs.log')}\n")
        c = self.session(d)
        c.cmd("MAIL FROM:<s@example.test>", 250)
        c.cmd("RCPT TO:<a@example.test>", 250)
        self.assertEqual(self.lines(d, "runs.log"), ["MAIL", "RECIPIENT"])
        self.assertIn("before any section header", d.stderr_text())
        # " #x" (leading space) is no comment: it is a program path, which does not exist.
        self.swap_smtpplugins(d, "[rcpt]\n #x\n")
        c2 = self.session(d)
        c2.cmd("MAIL FROM:<s@example.test>", 250)
        self.assertReply(c2.cmd("RCPT TO:<a@example.test>", 451), failure(" #x", "can't execute"))

    def test_42_counters(self):
        d = self.start_spp(f"[rcpt]\n:{fx('counters.sh')} {{tmp}}/count.log\n")
        c = self.session(d)
        c.cmd("MAIL FROM:<s@example.test>", 250)
        c.cmd("RCPT TO:<one@example.test>", 250)
        c.cmd("RCPT TO:<reject@example.test>", 550)     # rejected by the program
        c.cmd("RCPT TO:<three@foreign.test>", 553)      # rejected by rcpthosts
        c.cmd("RCPT TO:<four@example.test>", 250)
        c.cmd("RSET", 250)
        c.cmd("MAIL FROM:<s@example.test>", 250)
        c.cmd("RCPT TO:<five@example.test>", 250)
        self.assertEqual(self.lines(d, "count.log"), [
            "one@example.test 0/1 hostsok=1",
            "reject@example.test 1/2 hostsok=1",
            "three@foreign.test 1/3 hostsok=0",
            "four@example.test 1/4 hostsok=1",
            "five@example.test 0/1 hostsok=1",
        ])

    def test_43_RCPTHOSTSOK_with_RELAYCLIENT(self):
        d = self.start_spp(f"[rcpt]\n{record('R', 'SMTPRCPTHOSTSOK', 'RELAYCLIENT', 'SMTPRCPTTO')}\n",
                           tcp_env='127.0.0.1:allow,RELAYCLIENT=""\n')
        c = self.session(d)
        c.cmd("MAIL FROM:<s@example.test>", 250)
        c.cmd("RCPT TO:<x@foreign.test>", 250)   # the client may relay
        self.assertEqual(self.lines(d), ["R SMTPRCPTHOSTSOK='1' RELAYCLIENT='' SMTPRCPTTO='x@foreign.test'"])

    def test_44_E_in_auth(self):
        # P1 records what it sees, then refuses valid credentials.
        p1 = f":{fx('record.py')} {{tmp}}/auth.log P1 SMTPAUTHUSER SMTPAUTHMETHOD RELAYCLIENT; {fx('say.sh')} 'E535 5.7.8 no'"
        d = self.start_auth_spp(f"[auth]\n{p1}\n{record('P2')}\n"
                                f"[mail]\n{record('MAIL', *AUTH_VARS, log='mail.log')}\n")
        c = self.session(d)
        # Bad credentials never reach [auth] (SPP.md §4).
        self.auth_login(c, "alice", "wrong-password", 535)
        self.assertEqual(self.lines(d, "auth.log"), [])
        r = self.auth_login(c, "alice", ALICE_PW, 535)
        self.assertReply(r, "535 5.7.8 no")
        self.assertEqual(self.lines(d, "auth.log"), ["P1 SMTPAUTHUSER='alice' SMTPAUTHMETHOD='login' RELAYCLIENT=<unset>"])
        self.assertEqual(self.lines(d), [])            # P2 does not run
        # Not authenticated: AUTH is offered again, relaying is refused by rcpthosts, and
        # SMTPAUTHUSER/SMTPAUTHMETHOD are unset again [D].
        self.assertIn("AUTH", c.ehlo().text)
        c.cmd("MAIL FROM:<alice@example.test>", 250)
        self.assertReply(c.cmd("RCPT TO:<x@foreign.test>", 553),
                         "553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)")
        self.assertEqual(self.lines(d, "mail.log"), ["MAIL SMTPAUTHUSER=<unset> SMTPAUTHMETHOD=<unset> "
                                                     "RELAYCLIENT=<unset> TCPREMOTEINFO=<unset>"])
        c.cmd("RSET", 250)
        # The refusal is not a failed login: the per-IP failure limit (3 here) is not reached.
        for _ in range(3):
            self.auth_login(c, "alice", ALICE_PW, 535)
        self.assertDelivered(d, 0)

    def test_45_nothing_in_auth(self):
        d = self.start_auth_spp(f"[auth]\n{say()}\n{record('P2', *AUTH_VARS)}\n"
                                f"[mail]\n{record('MAIL', *AUTH_VARS, log='mail.log')}\n")
        c = self.session(d)
        self.assertEqual(self.auth_login(c, "alice", ALICE_PW, 235).code, 235)
        # P2 ran, before the session was authenticated: no RELAYCLIENT yet.
        self.assertEqual(self.lines(d), ["P2 SMTPAUTHUSER='alice' SMTPAUTHMETHOD='login' RELAYCLIENT=<unset> "
                                         "TCPREMOTEINFO=<unset>"])
        c.cmd("MAIL FROM:<alice@example.test>", 250)
        self.assertEqual(self.lines(d, "mail.log"), ["MAIL SMTPAUTHUSER='alice' SMTPAUTHMETHOD='login' "
                                                     "RELAYCLIENT='' TCPREMOTEINFO='alice'"])
        c.cmd("RCPT TO:<x@foreign.test>", 250)        # AUTH grants relaying
        c.cmd("DATA", 354)
        c.send(b"Subject: relayed\r\n\r\nx\r\n.\r\n")
        c.expect(250)
        [m] = self.assertDelivered(d, 1)
        self.assertRegex(m.received, r"\bwith ESMTPA\b")
        # PLAIN and CRAM-MD5 are spelled as in qmail's table too.
        c2 = self.session(d)
        c2.cmd("AUTH PLAIN " + plain_response("alice", ALICE_PW), 235)
        c3 = self.session(d)
        r = c3.cmd("AUTH CRAM-MD5", 334)
        c3.cmd(cram_md5_response(r.lines[0], "alice", ALICE_CRAM)[0], 235)
        self.assertEqual([l.split()[2] for l in self.lines(d)], ["SMTPAUTHMETHOD='login'", "SMTPAUTHMETHOD='plain'",
                                                                 "SMTPAUTHMETHOD='cram-md5'"])

    def test_46_P_in_connection_makes_a_multiline_greeting(self):
        d = self.start_spp(f"[connection]\n{say('P220-hello', 'N')}\n{record('P2')}\n")
        c = self.client(d, greet=False)
        r = c.expect(220)
        self.assertEqual(len(r.lines), 2)
        self.assertTrue(r.raw.startswith(b"220-hello\r\n"), r.raw)
        self.assertIn("ESMTP", r.lines[-1])
        self.assertEqual(self.lines(d), [])

    def test_environment_of_a_program(self):
        d = self.start_spp(f"[mail]\n{record('M', 'TCPREMOTEIP', 'TCPLOCALIP', 'PROTO', 'TCPREMOTEHOST', 'SMTPMAILFROM', 'SMTPHELOHOST', 'GREYLISTING', 'HOME', 'ASMTPD_SECRET')}\n",
                           tcp_env=':allow,GREYLISTING=""\n', env={"ASMTPD_SECRET": "leak"})
        c = self.client(d)
        c.cmd("EHLO client.test", 250)
        c.cmd('MAIL FROM:<"quoted user"@example.test>', 250)
        [line] = self.lines(d)
        self.assertEqual(line, "M TCPREMOTEIP='127.0.0.1' TCPLOCALIP='127.0.0.1' PROTO='TCP' "
                               "TCPREMOTEHOST=<unset> SMTPMAILFROM='quoted user@example.test' "
                               "SMTPHELOHOST='client.test' GREYLISTING='' HOME=<unset> ASMTPD_SECRET=<unset>")

    def test_tcp_env_deny(self):
        d = self.start_spp("[mail]\n", tcp_env="127.0.0.1:deny\n")
        c = self.client(d, greet=False)
        r = c.expect(554, "5.7.1")
        self.assertClosed(c)

    def test_tcp_env_errors_fail_start_up_with_file_and_line(self):
        d = self.start_spp("[mail]\n", tcp_env="# ok\n127.0.0.1:permit\n", wait=False, check_exit=False)
        self.assertIsNotNone(d.wait(20))
        self.assertNotEqual(d.returncode, 0)
        self.assertRegex(d.stderr_text(), r"tcp\.env:2: ")

    def test_data_post_sees_the_message_and_can_reject_after_the_dot(self):
        d = self.start_spp(f"[X-data_post]\n:{fx('filter.py')} {{tmp}}/seen.eml\n")
        c = self.session(d)
        self.assertEqual(c.send_mail(rcpts=("a@example.test",), body=b"Subject: ok\r\n\r\nclean\r\n").code, 250)
        [m] = self.assertDelivered(d, 1)
        self.assertIn(m.stored_form(b"X-Filtered: "), m.content)
        seen = (d.tmp / "seen.eml").read_bytes()
        self.assertTrue(seen.startswith(b"Received: "), seen[:200])
        self.assertTrue(seen.endswith(b"Subject: ok\r\n\r\nclean\r\n"), seen[-200:])
        r = c.send_mail(rcpts=("a@example.test",), body=b"Subject: bad\r\n\r\nVIRUS\r\n")
        self.assertReply(r, "554 5.7.1 message content rejected")
        self.assertDelivered(d, 1)
        c.cmd("NOOP", 250)


if __name__ == "__main__":
    unittest.main()

"""test_postfix_differential.py - issue 16: asmtpd against Postfix's smtpd, reply class by reply class.

200 scripted sessions (valid mail, malformed commands and addresses, pipelined groups, size,
recipient and error limits, sequence errors, long lines, NOOP/RSET/VRFY/HELP/QUIT...) are
generated deterministically from the tables below and run against asmtpd (the shipped plugin
list, accepting example.test into a maildir) and against a private Postfix instance (Debian's
3.7 package unpacked, never installed: postfix_support.py; mail for example.test accepted and
discarded). Every reply's class (2xx/3xx/4xx/5xx, or the connection closed) must be the same on
both, except where KNOWN lists the difference: each entry names the case, the command, what each
side answers and why. An entry that no longer differs fails the test too, so the list stays true.
Limits are configured equally where both have one (message size, recipients per message, errors
per session), and so is policy where Postfix has a knob for what asmtpd does (HELO required,
strict RFC 5321 envelopes, UTF-8 addresses only with SMTPUTF8, bare LF in DATA refused, rcpthosts
domains without their subdomains): POSTFIX_MAIN_CF. Skips only when Postfix cannot be obtained
(said loudly).
Owner: e2e tests of issue 16.
"""

import concurrent.futures
import sys
import time
import unittest

from harness import HOSTNAME, REPO, E2ETestCase
from postfix_support import Postfix, postfix_root
from session_script import Cmd, Data, Pipe, Raw, compare, pipelined, run_all, unexpected

SESSIONS = 200
DATABYTES = 20000          # limits.databytes = message_size_limit
MAX_RCPTS = 20             # limits.max_rcpts = smtpd_recipient_limit
MAX_ERRORS = 10            # limits.max_errors = smtpd_hard_error_limit
PARALLEL = 8

# Postfix's main.cf beyond postfix_support's instance defaults: the limits asmtpd is given too,
# and the knobs that make Postfix follow the same protocol policy as asmtpd's shipped config.
POSTFIX_MAIN_CF = {
    "message_size_limit": str(DATABYTES),
    "smtpd_recipient_limit": str(MAX_RCPTS),
    "smtpd_hard_error_limit": str(MAX_ERRORS),
    "smtpd_soft_error_limit": str(MAX_ERRORS),
    "smtpd_helo_required": "yes",              # asmtpd: 503 before HELO/EHLO
    "parent_domain_matches_subdomains": "",    # rcpthosts: "example.test" is that domain only
    "strict_rfc821_envelopes": "yes",          # asmtpd parses MAIL/RCPT as RFC 5321 writes them
    "strict_smtputf8": "yes",                  # asmtpd: UTF-8 addresses only with SMTPUTF8 (553)
    "smtpd_forbid_bare_newline": "reject",     # asmtpd's bare_lf: reject (SMTP smuggling)
}
ASMTPD_SETTINGS = {"limits": {"databytes": DATABYTES, "max_rcpts": MAX_RCPTS, "max_errors": MAX_ERRORS},
                   "log_level": "info"}

OK = "ok@example.test"
SENDER = "sender@example.org"
BODY = b"Subject: differential\r\nFrom: <sender@example.org>\r\n\r\nhello\r\n"

# --- the case table -------------------------------------------------------------------------
# name -> list of steps after the greeting. Sessions without their own HELO/EHLO get "EHLO".


def txn(sender=f"<{SENDER}>", rcpts=(f"<{OK}>", ), body=BODY, mail_params=""):
    steps = [Cmd(f"MAIL FROM:{sender}{mail_params}")]
    steps += [Cmd(f"RCPT TO:{r}") for r in rcpts]
    return steps + [Data(body)]


VALID = {
    "plain": txn(),
    "null_sender": txn(sender="<>"),
    "two_rcpts": txn(rcpts=(f"<{OK}>", "<other@example.test>")),
    "quoted_local": txn(rcpts=('<"john doe"@example.test>', )),
    "dotted_local": txn(rcpts=("<first.last+tag@example.test>", )),
    "case_domain": txn(rcpts=("<Ok@EXAMPLE.Test>", )),
    "lower_verbs": [Cmd(f"mail from:<{SENDER}>"), Cmd(f"rcpt to:<{OK}>"), Data(BODY)],
    "sender_literal": txn(sender="<a@[192.0.2.1]>"),
    "source_route": txn(rcpts=(f"<@relay.example.org:{OK}>", )),
    "size_param": txn(mail_params=" SIZE=1000"),
    "body_8bit": txn(mail_params=" BODY=8BITMIME", body=BODY + "gr\u00fc\u00dfe\r\n".encode()),
    "body_7bit": txn(mail_params=" BODY=7BIT"),
    "dot_stuffed": txn(body=BODY + b"..leading dot\r\n..\r\n"),
    "empty_body": txn(body=b""),
    "two_messages": txn() + txn(sender="<>"),
    "rset_between": [Cmd(f"MAIL FROM:<{SENDER}>"), Cmd(f"RCPT TO:<{OK}>"), Cmd("RSET")] + txn(),
    "foreign_rcpt": txn(rcpts=("<x@foreign.test>", f"<{OK}>")),
    "localhost_rcpt": txn(rcpts=("<postmaster@localhost>", )),
    "long_body_line": txn(body=BODY + b"x" * 1500 + b"\r\n"),
    "big_under_limit": txn(body=BODY + (b"y" * 70 + b"\r\n") * 200),
    "dup_rcpt": txn(rcpts=(f"<{OK}>", f"<{OK}>")),
    "smtputf8": txn(mail_params=" SMTPUTF8", rcpts=("<j\u00f6rg@example.test>", )),
    "dsn": txn(mail_params=" RET=HDRS ENVID=x1", rcpts=(f"<{OK}> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;{OK}", )),
    "rcpt_me": txn(rcpts=(f"<postmaster@{HOSTNAME}>", )),
}

# tag -> an address that RFC 5321 §4.1.2 does not allow (or only with SMTPUTF8), tried in MAIL and RCPT
MALFORMED_ADDRESSES = {
    "no_brackets": "a@example.test",
    "no_closing": "<a@example.test",
    "no_opening": "a@example.test>",
    "double_at": "<a@@example.test>",
    "space": "<a b@example.test>",
    "junk_after": "<a@example.test> junk",
    "no_domain": "<a@>",
    "no_local": "<@example.test>",
    "empty_label": "<a@example..test>",
    "hyphen_label": "<a@-bad.example.test>",
    "underscore": "<a@exa_mple.test>",
    "bad_ipv4": "<a@[300.1.1.1]>",
    "bad_ipv6": "<a@[IPv6:1::2::3]>",
    "long_local": "<" + "l" * 65 + "@example.test>",
    "long_domain": "<a@" + ("d" * 63 + ".") * 4 + "test>",
    "open_quote": "<\"unterminated@example.test>",
    "pair_unquoted": "<a\\@b@example.test>",
    "dot_last": "<a.@example.test>",
    "dot_first": "<.a@example.test>",
    "domain_dot": "<a@example.test.>",
    "utf8": "<j\u00f6rg@example.test>",
    "empty": "",
    "space_first": " <a@example.test>",
    "double_brackets": "<<a@example.test>>",
}

MALFORMED = {
    "mail_bare": [Cmd("MAIL")],
    "mail_to": [Cmd("MAIL TO:<a@example.test>")],
    "mail_no_colon": [Cmd("MAIL FROM <a@example.test>")],
    "mail_unknown_param": [Cmd("MAIL FROM:<a@example.test> FOO=bar")],
    "mail_size_syntax": [Cmd("MAIL FROM:<a@example.test> SIZE=abc")],
    "mail_size_over": [Cmd(f"MAIL FROM:<a@example.test> SIZE={DATABYTES + 1}")],
    "mail_body_bad": [Cmd("MAIL FROM:<a@example.test> BODY=9BIT")],
    "mail_dsn_ret": [Cmd("MAIL FROM:<a@example.test> RET=HDRS ENVID=x1")],
    "rcpt_dsn_notify": [Cmd("MAIL FROM:<a@example.test>"), Cmd(f"RCPT TO:<{OK}> NOTIFY=NEVER")],
    "rcpt_orcpt": [Cmd("MAIL FROM:<a@example.test>"), Cmd(f"RCPT TO:<{OK}> ORCPT=rfc822;{OK}")],
    "rcpt_unknown_param": [Cmd("MAIL FROM:<a@example.test>"), Cmd(f"RCPT TO:<{OK}> FOO=1")],
    "rcpt_bare": [Cmd("MAIL FROM:<a@example.test>"), Cmd("RCPT")],
    "rcpt_from": [Cmd("MAIL FROM:<a@example.test>"), Cmd(f"RCPT FROM:<{OK}>")],
    "rcpt_null": [Cmd("MAIL FROM:<a@example.test>"), Cmd("RCPT TO:<>")],
    "rcpt_postmaster": [Cmd("MAIL FROM:<a@example.test>"), Cmd("RCPT TO:<postmaster>")],
    "helo_bare": [Cmd("HELO", "HELO")],
    "ehlo_bare": [Cmd("EHLO", "EHLO")],
    "helo_literal": [Cmd("HELO [127.0.0.1]")],
    "ehlo_odd": [Cmd("EHLO a_b!c")],
    "nul_in_mail": [Cmd(b"MAIL FROM:<a@example.test\x00>")],
    "bare_lf_cmd": [Cmd(b"NOOP\n", "NOOP<LF>"), Cmd("NOOP")],
    "empty_line": [Cmd(b"", "<empty>"), Cmd("NOOP")],
    "spaces_line": [Cmd(b"   ", "<spaces>")],
    "leading_space": [Cmd(" NOOP")],
    "binary": [Cmd(b"\x80\x81\xfe\xff", "<binary>")],
    "http_get": [Cmd("GET / HTTP/1.0")],
    "long_command": [Cmd("MAIL FROM:<" + "a" * 600 + "@example.test>")],
    "long_noop": [Cmd("NOOP " + "n" * 1000), Cmd("NOOP")],
    "mail_tab": [Cmd(f"MAIL FROM:\t<{SENDER}>")],
    "mail_space": [Cmd(f"MAIL FROM: <{SENDER}>")],
    "mail_cr": [Cmd(b"MAIL FROM:<a@example.test>\rSIZE=1", "MAIL FROM:<a@example.test><CR>SIZE=1")],
    "mail_del": [Cmd(b"MAIL FROM:<a\x7f@example.test>", "MAIL FROM:<a<DEL>@example.test>")],
    "mail_size_twice": [Cmd(f"MAIL FROM:<{SENDER}> SIZE=10 SIZE=20")],
    "mail_ret_twice": [Cmd(f"MAIL FROM:<{SENDER}> RET=FULL RET=HDRS")],
    "mail_envid_xtext": [Cmd(f"MAIL FROM:<{SENDER}> ENVID=bad+zz")],
    "rcpt_notify_never": [Cmd(f"MAIL FROM:<{SENDER}>"), Cmd(f"RCPT TO:<{OK}> NOTIFY=NEVER,SUCCESS")],
    "rcpt_percent": [Cmd(f"MAIL FROM:<{SENDER}>"), Cmd("RCPT TO:<a%b@example.test>")],
    "rcpt_bang": [Cmd(f"MAIL FROM:<{SENDER}>"), Cmd("RCPT TO:<b!a@example.test>")],
    "rcpt_own_literal": [Cmd(f"MAIL FROM:<{SENDER}>"), Cmd("RCPT TO:<a@[127.0.0.1]>")],
    "rcpt_subdomain": [Cmd(f"MAIL FROM:<{SENDER}>"), Cmd("RCPT TO:<a@sub.example.test>")],
    "ehlo_long_label": [Cmd("EHLO " + "h" * 300 + ".test")],
    "noop_tab": [Cmd("NOOP\tx")],
    "mail_size_huge": [Cmd(f"MAIL FROM:<{SENDER}> SIZE=99999999999999999999")],
    "mail_general_literal": [Cmd("MAIL FROM:<a@[tag:foo]>")],
    "mail_numeric_domain": [Cmd("MAIL FROM:<a@192.0.2.1>")],
    "rcpt_quoted_at": [Cmd(f"MAIL FROM:<{SENDER}>"), Cmd('RCPT TO:<"a@b"@example.test>')],
    "rcpt_quoted_empty": [Cmd(f"MAIL FROM:<{SENDER}>"), Cmd('RCPT TO:<""@example.test>')],
    "rcpt_two_routes": [Cmd(f"MAIL FROM:<{SENDER}>"), Cmd(f"RCPT TO:<@a.example.org,@b.example.org:{OK}>")],
    "ctrl_in_verb": [Cmd(b"NO\x01OP", "NO<SOH>OP")],
    "bare_lf_body": txn(body=b"Subject: x\r\n\r\nbare\nlf\r\n"),
    "bare_cr_body": txn(body=b"Subject: x\r\n\r\nbare\rcr\r\n"),
    "nul_body": txn(body=b"Subject: x\r\n\r\nnul\x00byte\r\n"),
}
for tag, a in MALFORMED_ADDRESSES.items():
    MALFORMED[f"mail_addr/{tag}"] = [Cmd(f"MAIL FROM:{a}"), Cmd("RSET")]
    MALFORMED[f"rcpt_addr/{tag}"] = [Cmd(f"MAIL FROM:<{SENDER}>"), Cmd(f"RCPT TO:{a}")]

PIPELINED = {
    "pipe_envelope": [Pipe(f"MAIL FROM:<{SENDER}>", f"RCPT TO:<{OK}>", "RCPT TO:<b@example.test>"), Data(BODY)],
    "pipe_bad_rcpt": [Pipe(f"MAIL FROM:<{SENDER}>", "RCPT TO:<x@foreign.test>", f"RCPT TO:<{OK}>"),
                      Data(BODY)],
    "pipe_all_bad": [Pipe(f"MAIL FROM:<{SENDER}>", "RCPT TO:<x@foreign.test>"), Data(BODY)],
    "pipe_bad_mail": [Pipe("MAIL FROM:broken", f"RCPT TO:<{OK}>"), Data(BODY)],
    "pipe_rset_noop": [Pipe("RSET", "NOOP", f"MAIL FROM:<{SENDER}>", f"RCPT TO:<{OK}>"), Data(BODY)],
    "pipe_quit": [Pipe(f"MAIL FROM:<{SENDER}>", f"RCPT TO:<{OK}>", "RSET", "QUIT")],
    "pipe_after_message": txn() + [Pipe(f"MAIL FROM:<{SENDER}>", f"RCPT TO:<{OK}>"), Data(BODY)],
    "pipe_vrfy_help": [Pipe("VRFY a@example.test", "HELP", "NOOP")],
    "pipe_ehlo_first": [Pipe("RSET", "EHLO again.e2e.test", "NOOP")],
    "pipe_many_noops": [Pipe(*["NOOP"] * 50)],
    "pipe_dot_quit": [Cmd(f"MAIL FROM:<{SENDER}>"), Cmd(f"RCPT TO:<{OK}>"), Cmd("DATA"),
                      Raw(BODY + b".\r\nQUIT\r\n", "<dot>"), Raw(b"", "QUIT"), Cmd("NOOP")],
    "pipe_body_early": [Pipe(f"MAIL FROM:<{SENDER}>", f"RCPT TO:<{OK}>"),
                        Raw(b"DATA\r\n" + BODY + b".\r\n", "DATA+body"), Cmd("NOOP")],
}

LIMITS = {
    "size_over": txn(body=BODY + (b"z" * 98 + b"\r\n") * (DATABYTES // 100 + 10)) + [Cmd("NOOP")],
    "size_param_at_limit": [Cmd(f"MAIL FROM:<{SENDER}> SIZE={DATABYTES}")],
    "rcpts_over": txn(rcpts=[f"<r{i}@example.test>" for i in range(MAX_RCPTS + 2)]),
    "rcpts_at_limit": txn(rcpts=[f"<r{i}@example.test>" for i in range(MAX_RCPTS)]),
    "errors_limit": [Cmd("MAIL FROM:broken")] * (MAX_ERRORS + 2),
    "errors_mixed": [Cmd("RCPT TO:<a@example.test>"), Cmd("DATA"), Cmd("MAIL FROM:broken")] * 4,
    "unknown_x3": [Cmd("FOO"), Cmd("BAR"), Cmd("BAZ"), Cmd("NOOP")],
    "unknown_x5": [Cmd("FOO"), Cmd("BAR"), Cmd("BAZ"), Cmd("QUX"), Cmd("QUUX"), Cmd("NOOP")],
    "junk_noops": [Cmd("NOOP")] * 105,
    "long_line_512": [Cmd("NOOP " + "n" * 505), Cmd("NOOP")],
    "long_line_513": [Cmd("NOOP " + "n" * 506), Cmd("NOOP")],
    "header_big": txn(body=b"Subject: big\r\n" + (b"X-More: " + b"m" * 70 + b"\r\n") * 150 + b"\r\nbody\r\n"),
    "header_lines_over": txn(body=b"Subject: many\r\n" + b"X-H: 1\r\n" * 1000 + b"\r\nbody\r\n"),
}

SEQUENCE = {
    "mail_before_helo": [Cmd(f"MAIL FROM:<{SENDER}>"), Cmd("EHLO late.e2e.test"), Cmd(f"MAIL FROM:<{SENDER}>")],
    "rcpt_before_mail": [Cmd(f"RCPT TO:<{OK}>"), Cmd(f"MAIL FROM:<{SENDER}>"), Cmd(f"RCPT TO:<{OK}>")],
    "data_before_mail": [Cmd("DATA"), Cmd("NOOP")],
    "data_without_rcpt": [Cmd(f"MAIL FROM:<{SENDER}>"), Cmd("DATA"), Cmd(f"RCPT TO:<{OK}>"), Data(BODY)],
    "data_after_bad_rcpt": [Cmd(f"MAIL FROM:<{SENDER}>"), Cmd("RCPT TO:<x@foreign.test>"), Cmd("DATA")],
    "nested_mail": [Cmd(f"MAIL FROM:<{SENDER}>"), Cmd("MAIL FROM:<b@example.org>"), Cmd(f"RCPT TO:<{OK}>"),
                    Data(BODY)],
    "helo_twice": [Cmd("HELO again.e2e.test"), Cmd("EHLO third.e2e.test")],
    "ehlo_mid_txn": [Cmd(f"MAIL FROM:<{SENDER}>"), Cmd("EHLO again.e2e.test"), Cmd(f"RCPT TO:<{OK}>")],
    "rset_args": [Cmd("RSET now")],
    "noop_args": [Cmd("NOOP hello there")],
    "quit_args": [Cmd("QUIT now")],
    "quit_mid_txn": [Cmd(f"MAIL FROM:<{SENDER}>"), Cmd("QUIT"), Cmd("NOOP")],
    "vrfy": [Cmd("VRFY ok@example.test")],
    "vrfy_bare": [Cmd("VRFY")],
    "vrfy_unknown": [Cmd("VRFY x")],
    "vrfy_name": [Cmd("VRFY postmaster")],
    "expn": [Cmd("EXPN list@example.test")],
    "help": [Cmd("HELP")],
    "help_topic": [Cmd("HELP MAIL")],
    "etrn": [Cmd("ETRN example.test")],
    "turn": [Cmd("TURN")],
    "starttls_off": [Cmd("STARTTLS")],
    "auth_off": [Cmd("AUTH PLAIN AGFhAGI=")],
    "bdat_no_mail": [Raw(b"BDAT 5 LAST\r\nhello", "BDAT 5 LAST")],
    "bdat": [Cmd(f"MAIL FROM:<{SENDER}>"), Cmd(f"RCPT TO:<{OK}>"),
             Raw(b"BDAT 12 LAST\r\nSubject: b\r\n", "BDAT 12 LAST")],
    "bdat_chunks": [Cmd(f"MAIL FROM:<{SENDER}>"), Cmd(f"RCPT TO:<{OK}>"), Raw(b"BDAT 4\r\nab\r\n", "BDAT 4"),
                    Raw(b"BDAT 0 LAST\r\n", "BDAT 0 LAST")],
    "bdat_last_lower": [Cmd(f"MAIL FROM:<{SENDER}>"), Cmd(f"RCPT TO:<{OK}>"),
                        Raw(b"BDAT 5 last\r\nhello", "BDAT 5 last")],
    "bdat_then_data": [Cmd(f"MAIL FROM:<{SENDER}>"), Cmd(f"RCPT TO:<{OK}>"), Raw(b"BDAT 4\r\nab\r\n", "BDAT 4"),
                       Cmd("DATA")],
    "rcpt_after_failed_data": [Cmd(f"MAIL FROM:<{SENDER}>"), Cmd("RCPT TO:<x@foreign.test>"), Cmd("DATA"),
                               Cmd(f"RCPT TO:<{OK}>"), Data(BODY)],
    "helo_mid_txn": [Cmd(f"MAIL FROM:<{SENDER}>"), Cmd("HELO again.e2e.test"), Cmd(f"RCPT TO:<{OK}>")],
    "xclient": [Cmd("XCLIENT ADDR=192.0.2.9")],
    "data_args": [Cmd(f"MAIL FROM:<{SENDER}>"), Cmd(f"RCPT TO:<{OK}>"), Cmd("DATA now")],
    "unknown": [Cmd("FOOBAR"), Cmd("FOOBAR with args")],
}
# Valid cases run once more with MAIL and RCPT in one write.
PIPE_TOO = ("plain", "null_sender", "two_rcpts", "source_route", "size_param", "body_8bit",
            "dot_stuffed", "two_messages", "rset_between", "foreign_rcpt", "localhost_rcpt", "dup_rcpt", "smtputf8",
            "dsn", "rcpt_me")
# Cases run once more after a plain HELO instead of EHLO.
HELO_TOO = ("plain", "size_param", "bdat")
NO_EHLO = {"mail_before_helo", "helo_bare", "ehlo_long_label", "ehlo_bare", "helo_literal",
           "ehlo_odd", "pipe_ehlo_first"}


def sessions():
    """[(name, steps)]: every table's cases after EHLO (or as they are), PIPE_TOO pipelined,
    HELO_TOO after HELO: SESSIONS in all, in a fixed order."""
    out = []
    tables = (VALID, MALFORMED, PIPELINED, LIMITS, SEQUENCE)
    for table in tables:
        for name, steps in table.items():
            hello = [] if name in NO_EHLO else [Cmd("EHLO client.e2e.test")]
            out.append((name, hello + list(steps)))
    for name in PIPE_TOO:
        out.append((name + "/pipe", [Cmd("EHLO client.e2e.test")] + pipelined(VALID[name])))
    every = {k: v for t in tables for k, v in t.items()}
    for name in HELO_TOO:
        out.append((name + "/helo", [Cmd("HELO client.e2e.test")] + list(every[name])))
    return out


def shipped_plugins():
    """config/plugins as shipped, with the maildir in the daemon's temporary directory."""
    out = []
    for line in (REPO / "config" / "plugins").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        out.append("queue/maildir {maildir}" if line.startswith("queue/maildir") else line)
    return out


def shipped_files():
    """The shipped flat files (badmailfrom, rcpthosts, ...), except `me` (the test's name)."""
    return {p.name: p.read_text() for p in (REPO / "config").iterdir()
            if p.is_file() and p.name not in ("asmtpd.yaml", "plugins", "me")}


def postfix_domains():
    """What asmtpd's rcpt_ok accepts: the shipped rcpthosts and the test's `me`."""
    lines = (REPO / "config" / "rcpthosts").read_text().splitlines()
    return [x.strip() for x in lines if x.strip() and not x.startswith("#")] + [HOSTNAME]


# --- the known differences -------------------------------------------------------------------
# session name -> (reason, [(command label, asmtpd's outcome, Postfix's outcome)...]): the
# complete list of the session's differences, in order. Labels longer than 48 characters are
# written "*" (any label).
_PARAMS_AFTER_HELO = (
    "asmtpd refuses ESMTP parameters in a session opened with HELO (555 5.5.4: RFC 5321 §4.1.1.11/"
    "RFC 1869 §6, they exist only after EHLO; test_protocol_corners); Postfix accepts them after "
    "HELO too. The RCPT and DATA after the refused MAIL then get 503 from asmtpd.")
_HELP = ("asmtpd answers HELP with 214 as qpsmtpd does (RFC 5321 §4.1.1.8); Postfix does not implement "
         "HELP (502 5.5.2 command not recognized).")
_LONG_LINE = ("asmtpd enforces RFC 5321 §4.5.3.1.4's 512-octet command line (limits.line_length: 500 5.5.2); "
              "Postfix reads command lines up to line_length_limit (2048) and accepts them.")
_RFC5321_LOCAL = ("asmtpd checks the local part's Dot-string grammar (RFC 5321 §4.1.2: no leading, trailing "
                  "or doubled dot); Postfix's parser (even with strict_rfc821_envelopes) only checks the "
                  "brackets, and the recipient is in a relay domain.")
_DOMAIN_DOT = ("a trailing dot is not in RFC 5321's Domain grammar: asmtpd refuses it (501); Postfix strips it "
               "and accepts.")
_DOUBLE_BRACKETS = ("asmtpd reads <<a@example.test>> as a path whose local part starts with '<' and refuses "
                    "it (501); Postfix strips the extra brackets and accepts.")
_ROUTING = ("Postfix refuses sender-specified routing ('%' or '!' in the local part) to a relay domain "
            "(allow_untrusted_routing = no: 554 5.7.1); asmtpd's rcpt_ok, like qmail-smtpd and qpsmtpd, "
            "looks only at the domain: the local part is the delivering host's business.")
_LONG_LOCAL = ("asmtpd refuses a local part over RFC 5321 §4.5.3.1.1's 64 octets (501 5.1.3); Postfix has "
               "no such limit.")
KNOWN = {
    "bare_lf_cmd": ("asmtpd's bare_lf policy applies to message data (SMTP smuggling); a command line "
                    "ended by a bare LF is read as a line, as qpsmtpd does. Postfix's "
                    "smtpd_forbid_bare_newline = reject (set to match asmtpd's bare_lf: reject in DATA) "
                    "refuses it in commands too and disconnects.",
                    [("NOOP<LF>", "2", "5"), ("NOOP", "2", "closed")]),
    "bare_cr_body": ("asmtpd's bare_lf: reject also refuses a bare CR in message data (554 5.5.2; the "
                     "<CR>.<CR> smuggling variants); Postfix only looks at bare LF.",
                     [("DATA <dot>", "5", "2")]),
    "leading_space": ("asmtpd parses the verb at the start of the line (RFC 5321 §4.1.1): ' NOOP' is "
                      "no command (500); Postfix skips leading white space.",
                      [(" NOOP", "5", "2")]),
    "http_get": ("Postfix hangs up on HTTP verbs (smtpd_forbidden_commands: 221 2.7.0 'I can break rules, "
                 "too' and close); asmtpd answers an unknown verb, 500 5.5.1.",
                 [("GET / HTTP/1.0", "5", "2")]),
    "long_command": (_LONG_LINE, [("*", "5", "2")]),
    "long_noop": (_LONG_LINE, [("*", "5", "2")]),
    "long_line_513": (_LONG_LINE, [("*", "5", "2")]),
    "mail_addr/double_at": ("asmtpd refuses 'a@@example.test' (the domain '@example.test' is no Domain, RFC "
                            "5321 §4.1.2); Postfix takes the last '@' as the separator and accepts.",
                            [("MAIL FROM:<a@@example.test>", "5", "2")]),
    "mail_addr/underscore": ("'_' is not in RFC 5321's Domain grammar (Let-dig / Ldh-str): asmtpd refuses "
                             "the sender (501); Postfix accepts any domain in MAIL FROM unless "
                             "reject_non_fqdn_sender or similar restrictions say otherwise (not configured).",
                             [("MAIL FROM:<a@exa_mple.test>", "5", "2")]),
    "mail_addr/long_local": (_LONG_LOCAL, [("*", "5", "2")]),
    "rcpt_addr/long_local": (_LONG_LOCAL, [("*", "5", "2")]),
    "mail_addr/pair_unquoted": ("a quoted pair ('\\\\@') is only allowed inside a Quoted-string (RFC 5321 "
                                "§4.1.2): asmtpd refuses it; Postfix accepts.",
                                [("MAIL FROM:<a\\@b@example.test>", "5", "2")]),
    "mail_addr/dot_last": (_RFC5321_LOCAL, [("MAIL FROM:<a.@example.test>", "5", "2")]),
    "rcpt_addr/dot_last": (_RFC5321_LOCAL, [("RCPT TO:<a.@example.test>", "5", "2")]),
    "mail_addr/dot_first": (_RFC5321_LOCAL, [("MAIL FROM:<.a@example.test>", "5", "2")]),
    "rcpt_addr/dot_first": (_RFC5321_LOCAL, [("RCPT TO:<.a@example.test>", "5", "2")]),
    "mail_addr/domain_dot": (_DOMAIN_DOT, [("MAIL FROM:<a@example.test.>", "5", "2")]),
    "rcpt_addr/domain_dot": (_DOMAIN_DOT, [("RCPT TO:<a@example.test.>", "5", "2")]),
    "mail_addr/double_brackets": (_DOUBLE_BRACKETS, [("MAIL FROM:<<a@example.test>>", "5", "2")]),
    "rcpt_addr/double_brackets": (_DOUBLE_BRACKETS, [("RCPT TO:<<a@example.test>>", "5", "2")]),
    "mail_addr/empty": ("asmtpd reads 'MAIL FROM:' with nothing after it as the null sender, as qpsmtpd "
                        "does (its parser turns the missing address into <>); Postfix requires a path "
                        "(501 5.5.4).",
                        [("MAIL FROM:", "2", "5")]),
    "pipe_body_early": ("asmtpd refuses message content sent before its 354 (RFC 2920 §3.1: DATA ends a "
                        "group) with 554 5.5.0 and closes, against SMTP smuggling. Postfix does the same "
                        "only with smtpd_forbid_unauth_pipelining = yes (3.9's default), which also refuses "
                        "the pipelined NOOP/VRFY/EHLO asmtpd serves, so Postfix runs with 3.7's default "
                        "(no) and takes the early content as the message.",
                        [("DATA+body", "5", "3"), ("NOOP", "closed", "2")]),
    "unknown_x5": ("the shipped plugin list has count_unrecognized_commands 4: asmtpd answers the fourth "
                   "unknown verb with 521 and closes; Postfix only counts them toward "
                   "smtpd_hard_error_limit.",
                   [("QUUX", "closed", "5"), ("NOOP", "closed", "2")]),
    "help": (_HELP, [("HELP", "2", "5")]),
    "help_topic": (_HELP, [("HELP MAIL", "2", "5")]),
    "pipe_vrfy_help": (_HELP, [("HELP", "2", "5")]),
    "etrn": ("asmtpd is a front end without a queue of its own: ETRN is not implemented (502, as in "
             "qpsmtpd); Postfix's flush service starts a delivery run (250).",
             [("ETRN example.test", "5", "2")]),
    "header_lines_over": ("asmtpd refuses a header block of more than limits.header_lines (1000) lines, 552 "
                          "5.3.4 after the final dot; Postfix has no line limit (header_size_limit counts "
                          "octets, and past it Postfix moves the rest into the body rather than refusing).",
                          [("DATA <dot>", "5", "2")]),
    "mail_general_literal": ("RFC 5321 §4.1.3 allows a General-address-literal ([tag:content]): asmtpd accepts "
                             "it as a sender; Postfix knows only IPv4 and IPv6 literals (501 5.1.7).",
                             [("MAIL FROM:<a@[tag:foo]>", "2", "5")]),
    "mail_numeric_domain": ("'192.0.2.1' without brackets fits RFC 5321's Domain grammar (digit labels): asmtpd "
                            "accepts the sender; Postfix refuses an IP address that is not a bracketed literal "
                            "(501 5.1.7).",
                            [("MAIL FROM:<a@192.0.2.1>", "2", "5")]),
    "rcpt_quoted_at": (_ROUTING, [('RCPT TO:<"a@b"@example.test>', "2", "5")]),
    "rcpt_quoted_empty": ("an empty Quoted-string is a valid local part in RFC 5321's grammar (*QcontentSMTP): "
                          "asmtpd accepts it for a local domain; Postfix refuses it (501 5.1.3).",
                          [('RCPT TO:<""@example.test>', "2", "5")]),
    "vrfy_unknown": ("asmtpd answers VRFY with 252 whatever the argument (qpsmtpd's default when no plugin "
                     "handles it; RFC 5321 §3.5.3); Postfix runs its recipient restrictions on VRFY, so 'x' "
                     "(no domain, not a relay domain) gets 554 5.7.1.",
                     [("VRFY x", "2", "5")]),
    "mail_tab": ("asmtpd tolerates spaces after 'FROM:' (a common client bug) but no TAB (RFC 5321 §4.1.1.2 "
                 "allows neither): 501; Postfix skips any white space.",
                 [("MAIL FROM:\t<sender@example.org>", "5", "2")]),
    "mail_cr": ("asmtpd refuses a control character inside a command line (501; RELIABILITY P8: a bare CR is "
                "never part of a command); Postfix reads it as white space and accepts.",
                [("MAIL FROM:<a@example.test><CR>SIZE=1", "5", "2")]),
    "mail_del": ("DEL is not in RFC 5321's atext: asmtpd refuses the address (501); Postfix accepts it.",
                 [("MAIL FROM:<a<DEL>@example.test>", "5", "2")]),
    "mail_size_twice": ("a MAIL parameter given twice is ambiguous: asmtpd refuses it (501 5.5.4 Duplicate "
                        "parameter); Postfix accepts it.",
                        [(f"MAIL FROM:<{SENDER}> SIZE=10 SIZE=20", "5", "2")]),
    "rcpt_percent": (_ROUTING, [("RCPT TO:<a%b@example.test>", "2", "5")]),
    "rcpt_bang": (_ROUTING, [("RCPT TO:<b!a@example.test>", "2", "5")]),
    "rcpt_own_literal": ("Postfix treats an address literal of its own interface ([127.0.0.1]) as a local "
                         "destination; asmtpd's rcpt_ok accepts a literal only when rcpthosts lists it, as "
                         "qmail does (550 5.7.1 Relaying denied).",
                         [("RCPT TO:<a@[127.0.0.1]>", "5", "2")]),
    "ehlo_long_label": ("asmtpd checks the EHLO argument as a Domain (labels of at most 63 octets, RFC 1035 "
                        "§2.3.4) and refuses it (501); Postfix accepts any EHLO name unless "
                        "reject_invalid_helo_hostname is configured.",
                        [("*", "5", "2")]),
    "noop_tab": ("RFC 5321 §4.1.1 ends a verb with SP: asmtpd reads 'NOOP<TAB>x' as one unknown verb "
                 "(500 5.5.1); Postfix splits on any white space.",
                 [("NOOP\tx", "5", "2")]),
}
KNOWN["size_param/helo"] = (_PARAMS_AFTER_HELO, [(f"MAIL FROM:<{SENDER}> SIZE=1000", "5", "2"),
                                                 (f"RCPT TO:<{OK}>", "5", "2"), ("DATA", "5", "3"),
                                                 ("DATA <dot>", "-", "2")])


class PostfixDifferentialTest(E2ETestCase):

    @classmethod
    def setUpClass(cls):
        root, why = postfix_root()
        if root is None:
            bar = "!" * 78
            sys.stderr.write(f"\n{bar}\nSKIPPED test_postfix_differential: Postfix cannot be obtained: {why}\n"
                             f"(scripts/bootstrap --test unpacks it; see t/e2e/postfix_support.py)\n{bar}\n")
            raise unittest.SkipTest(f"Postfix cannot be obtained: {why}")

    def test_reply_classes_match_postfix(self):
        scripts = sessions()
        self.assertEqual(len(scripts), SESSIONS)
        self.assertEqual(len({n for n, _ in scripts}), SESSIONS, "session names must be unique")
        self.assertFalse(set(KNOWN) - {n for n, _ in scripts}, "KNOWN names a session that does not exist")

        d = self.start_daemon(plugins=shipped_plugins(), files=shipped_files(), settings=ASMTPD_SETTINGS)
        pf = Postfix(domains=postfix_domains(), main_cf=POSTFIX_MAIN_CF)
        self.addCleanup(pf.cleanup)
        self.addCleanup(pf.stop)
        pf.start()

        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as both:
            fa = both.submit(run_all, d.port, scripts, PARALLEL)
            fp = both.submit(run_all, pf.port, scripts, PARALLEL)
            ra, rp = fa.result(), fp.result()
        elapsed = time.monotonic() - t0

        problems = []
        for (name, _), (a, ta), (p, tp) in zip(scripts, ra, rp):
            extra = unexpected(KNOWN.get(name), compare(a, p))
            if extra:
                why = "listed in KNOWN, but the difference changed" if name in KNOWN else "not in KNOWN"
                problems.append(f"== {name} ({why}):\n   " + "\n   ".join(
                    f"{label!r}: asmtpd {oa}, postfix {op}" for label, oa, op in extra)
                    + f"\n asmtpd:\n{ta}\n postfix:\n{tp}")
        stale = [n for n in KNOWN
                 for (name, _), (a, _), (p, _) in zip(scripts, ra, rp) if name == n and not compare(a, p)]
        for n in stale:
            problems.append(f"== {n}: listed in KNOWN but both now answer alike: remove the entry")

        # Both really served mail: the plain message was taken by each.
        plain = [i for i, (n, _) in enumerate(scripts) if n == "plain"][0]
        self.assertEqual(ra[plain][0][-1], ("DATA <dot>", "2"), ra[plain][1])
        self.assertEqual(rp[plain][0][-1], ("DATA <dot>", "2"), rp[plain][1])
        log = pf.log_text()
        for bad in ("fatal:", "panic:"):
            self.assertNotIn(bad, log, f"Postfix logged {bad}\n{pf.diagnostics(80)}")
        if problems:
            self.fail(f"{len(problems)} session(s) differ from Postfix beyond KNOWN "
                      f"({SESSIONS} sessions, {elapsed:.1f}s):\n" + "\n".join(problems))
        print(f"\n{SESSIONS} sessions, {len(KNOWN)} known differences, {elapsed:.1f}s", file=sys.stderr)


if __name__ == "__main__":
    unittest.main()

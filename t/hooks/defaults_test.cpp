// defaults_test.cpp - tests hooks/defaults.cpp: every (hook, result) cell of the default
// table, written out independently here, then the rules for merging a plugin's text and
// reply (class fitting, esc repair, fail-closed cases).
#include "hooks/defaults.hpp"

#include <doctest/doctest.h>

#include <array>
#include <map>
#include <string>
#include <vector>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::hooks;
using asmtpd::proto::Reply;

namespace {

struct Expect {
    Action action;
    int code;
    const char* esc;
    const char* text;   // nullptr: do not check (success paths whose text the session builds)
};

using R = Result;
using A = Action;
constexpr R kResults[] = {R::Declined, R::Ok, R::Deny, R::DenySoft, R::DenyDisconnect, R::DenySoftDisconnect,
                          R::Done};

// Order of the array: Declined, Ok, Deny, DenySoft, DenyDisconnect, DenySoftDisconnect, Done.
using Rows = std::array<Expect, 7>;

const char* const kHelp = "This is asmtpd\nSee RFC 5321 for the commands\nTo report bugs, contact the postmaster of this host";

std::map<Hook, Rows> expected_table() {
    std::map<Hook, Rows> t;
    const Expect proceed_any{A::Proceed, 0, nullptr, nullptr};
    Rows connect = {{{A::Proceed, 220, "", nullptr},
                     {A::Proceed, 220, "", nullptr},
                     {A::RespondClose, 554, "5.7.1", "Connection from you denied, bye bye."},
                     {A::RespondClose, 421, "4.7.0", "Connection from you temporarily denied, bye bye."},
                     {A::RespondClose, 554, "5.7.1", "Connection from you denied, bye bye."},
                     {A::RespondClose, 421, "4.7.0", "Connection from you temporarily denied, bye bye."},
                     {A::Silent, 0, nullptr, nullptr}}};
    t[Hook::Connect] = connect;
    connect[6] = {A::Proceed, 0, nullptr, nullptr};
    t[Hook::PreConnection] = connect;

    Rows hello = {{{A::Proceed, 250, "2.0.0", nullptr},
                   {A::Proceed, 250, "2.0.0", nullptr},
                   {A::Respond, 550, "5.7.1", "Hello denied"},
                   {A::Respond, 450, "4.7.1", "Hello temporarily denied"},
                   {A::RespondClose, 550, "5.7.1", "Hello denied"},
                   {A::RespondClose, 421, "4.7.1", "Hello temporarily denied"},
                   {A::Silent, 0, nullptr, nullptr}}};
    t[Hook::Helo] = t[Hook::Ehlo] = hello;

    Rows pre = {{proceed_any,
                 proceed_any,
                 {A::Respond, 501, "5.5.4", "Syntax error in address"},
                 {A::Respond, 451, "4.3.0", nullptr},
                 {A::RespondClose, 501, "5.5.4", "Syntax error in address"},
                 {A::RespondClose, 421, "4.3.0", nullptr},
                 {A::Silent, 0, nullptr, nullptr}}};
    t[Hook::MailPre] = t[Hook::RcptPre] = pre;

    t[Hook::Mail] = {{{A::Proceed, 250, "2.1.0", "Sender OK"},
                      {A::Proceed, 250, "2.1.0", "Sender OK"},
                      {A::Respond, 550, "5.7.1", "Sender denied"},
                      {A::Respond, 450, "4.7.1", "Sender temporarily denied"},
                      {A::RespondClose, 550, "5.7.1", "Sender denied"},
                      {A::RespondClose, 421, "4.7.1", nullptr},
                      {A::Silent, 0, nullptr, nullptr}}};

    t[Hook::Rcpt] = {{{A::Respond, 450, "4.7.1", "No plugin decided if relaying is allowed"},
                      {A::Proceed, 250, "2.1.5", "Recipient OK"},
                      {A::Respond, 550, "5.7.1", "Relaying denied"},
                      {A::Respond, 450, "4.7.1", "Recipient temporarily denied"},
                      {A::RespondClose, 550, "5.7.1", "Delivery denied"},
                      {A::RespondClose, 421, "4.7.1", nullptr},
                      {A::Silent, 0, nullptr, nullptr}}};

    // rcpt_post: the recipient is accepted already, so DECLINED keeps it (no fail-closed 450).
    t[Hook::RcptPost] = {{{A::Proceed, 250, "2.1.5", "Recipient OK"},
                          {A::Proceed, 250, "2.1.5", "Recipient OK"},
                          {A::Respond, 550, "5.7.1", "Recipient denied"},
                          {A::Respond, 450, "4.7.1", "Recipient temporarily denied"},
                          {A::RespondClose, 550, "5.7.1", "Recipient denied"},
                          {A::RespondClose, 421, "4.7.1", "Recipient temporarily denied"},
                          {A::Silent, 0, nullptr, nullptr}}};

    t[Hook::Data] = {{{A::Proceed, 354, "", "End data with <CR><LF>.<CR><LF>"},
                      {A::Proceed, 354, "", "End data with <CR><LF>.<CR><LF>"},
                      {A::Respond, 554, "5.7.1", "Message denied"},
                      {A::Respond, 451, "4.7.1", "Message temporarily denied"},
                      {A::RespondClose, 554, "5.7.1", "Message denied"},
                      {A::RespondClose, 421, "4.7.1", nullptr},
                      {A::Silent, 0, nullptr, nullptr}}};

    t[Hook::DataPost] = {{proceed_any,
                          proceed_any,
                          {A::Respond, 552, "5.7.1", "Message denied"},
                          {A::Respond, 452, "4.7.1", "Message temporarily denied"},
                          {A::RespondClose, 552, "5.7.1", nullptr},
                          {A::RespondClose, 421, "4.7.1", nullptr},
                          {A::Silent, 0, nullptr, nullptr}}};
    t[Hook::DataPostHeaders] = t[Hook::DataPost];   // refusals count there too (qpsmtpd ignores them)
    t[Hook::DataHeadersEnd] = {{proceed_any,
                                proceed_any,
                                {A::Respond, 554, "5.7.1", "Message denied"},
                                {A::Respond, 451, "4.7.1", "Message temporarily denied"},
                                {A::RespondClose, 554, "5.7.1", "Message denied"},
                                {A::RespondClose, 421, "4.7.1", "Message temporarily denied"},
                                proceed_any}};

    t[Hook::QueuePre] = {{proceed_any,
                          proceed_any,
                          {A::Respond, 552, "5.3.0", "Message refused by queue"},
                          {A::Respond, 451, "4.3.0", "Queue temporarily unavailable"},
                          {A::RespondClose, 552, "5.3.0", nullptr},
                          {A::RespondClose, 421, "4.3.0", nullptr},
                          {A::Silent, 0, nullptr, nullptr}}};

    t[Hook::Queue] = {{{A::Respond, 451, "4.3.0", "Queuing declined or disabled; try again later"},
                       {A::Proceed, 250, "2.0.0", "Queued"},
                       {A::Respond, 552, "5.3.0", "Message refused by queue"},
                       {A::Respond, 452, "4.3.0", "Queuing temporarily failed"},
                       {A::RespondClose, 552, "5.3.0", nullptr},
                       {A::RespondClose, 421, "4.3.0", nullptr},
                       {A::Silent, 0, nullptr, nullptr}}};

    t[Hook::UnrecognizedCommand] = {{{A::Respond, 500, "5.5.1", "Unrecognized command"},
                                     {A::Respond, 500, "5.5.1", "Unrecognized command"},
                                     {A::Respond, 500, "5.5.1", "Unrecognized command"},
                                     {A::Respond, 500, "5.5.1", "Unrecognized command"},
                                     {A::RespondClose, 521, "5.5.1", "Unrecognized command"},
                                     {A::RespondClose, 421, "4.5.1", nullptr},
                                     {A::Silent, 0, nullptr, nullptr}}};

    t[Hook::Vrfy] = {{{A::Respond, 252, "2.5.2", "Just try sending a mail and we'll see how it turns out ..."},
                      {A::Respond, 250, "2.1.5", "User OK"},
                      {A::Respond, 554, "5.7.1", "Access Denied"},
                      {A::Respond, 450, "4.7.1", nullptr},
                      {A::RespondClose, 554, "5.7.1", nullptr},
                      {A::RespondClose, 421, "4.7.1", nullptr},
                      {A::Silent, 0, nullptr, nullptr}}};

    t[Hook::Noop] = {{{A::Respond, 250, "2.0.0", "OK"},
                      {A::Respond, 250, "2.0.0", "OK"},
                      {A::Respond, 500, "5.5.1", "Stop wasting my time."},
                      {A::Respond, 500, "5.5.1", "Stop wasting my time."},
                      {A::RespondClose, 500, "5.5.1", nullptr},
                      {A::RespondClose, 421, nullptr, nullptr},
                      {A::Silent, 0, nullptr, nullptr}}};

    t[Hook::Help] = {{{A::Respond, 214, "2.0.0", kHelp},
                      {A::Respond, 214, "2.0.0", kHelp},
                      {A::Respond, 500, "5.5.1", "Syntax error, command not recognized"},
                      {A::Respond, 500, "5.5.1", nullptr},
                      {A::RespondClose, 500, "5.5.1", nullptr},
                      {A::RespondClose, 421, nullptr, nullptr},
                      {A::Silent, 0, nullptr, nullptr}}};

    Expect bye{A::RespondClose, 221, "2.0.0", "closing connection"};
    t[Hook::Quit] = {{bye, bye, bye, bye, bye, bye, {A::SilentClose, 0, nullptr, nullptr}}};

    Rows auth = {{{A::Respond, 535, "5.7.8", "Authentication failed"},
                  {A::Proceed, 235, "2.7.0", "Authentication successful"},
                  {A::Respond, 535, "5.7.8", "Authentication failed"},
                  {A::Respond, 454, "4.7.0", "Temporary authentication failure"},
                  {A::RespondClose, 535, "5.7.8", nullptr},
                  {A::RespondClose, 421, nullptr, nullptr},
                  {A::Silent, 0, nullptr, nullptr}}};
    t[Hook::Auth] = t[Hook::AuthPlain] = t[Hook::AuthLogin] = t[Hook::AuthCramMd5] = auth;
    // auth_post: the credentials were good, so DECLINED authenticates; refusals as auth's.
    auth[0] = {A::Proceed, 235, "2.7.0", "Authentication successful"};
    auth[4] = {A::RespondClose, 535, "5.7.8", "Authentication failed"};
    auth[5] = {A::RespondClose, 421, "4.7.0", "Temporary authentication failure"};
    t[Hook::AuthPost] = auth;

    Rows always = {{proceed_any, proceed_any, proceed_any, proceed_any, proceed_any, proceed_any, proceed_any}};
    for (Hook h : {Hook::ReceivedLine, Hook::Logging, Hook::Deny, Hook::Ok, Hook::QueuePost,
                   Hook::ResetTransaction, Hook::Disconnect, Hook::PostConnection})
        t[h] = always;
    return t;
}

std::string joined(const Reply& r) {
    std::string s;
    for (std::size_t i = 0; i < r.lines.size(); ++i) s += (i ? "\n" : "") + r.lines[i];
    return s;
}

Verdict with_reply(Result r, int code, std::string esc, std::string text) {
    Verdict v{r, {}, Reply::make(code, esc, text)};
    return v;
}

}  // namespace

TEST_CASE("dispose: every cell of the default table") {
    auto table = expected_table();
    REQUIRE(table.size() == kHookCount);
    int cells = 0;
    for (std::size_t hi = 0; hi < kHookCount; ++hi) {
        auto hook = static_cast<Hook>(hi);
        REQUIRE(table.count(hook) == 1);
        for (std::size_t ri = 0; ri < 7; ++ri) {
            const Expect& e = table[hook][ri];
            Verdict v{kResults[ri], {}, {}};
            auto d = dispose(hook, v);
            CAPTURE(hook_name(hook));
            CAPTURE(to_string(kResults[ri]));
            CHECK(d.action == e.action);
            if (e.code) CHECK(d.reply.code == e.code);
            if (e.esc) CHECK(d.reply.esc == e.esc);
            if (e.text) CHECK(joined(d.reply) == e.text);
            // Whatever the cell, a reply that will be sent is well-formed.
            if (d.action == A::Respond || d.action == A::RespondClose) {
                CHECK(d.reply.code >= 200);
                CHECK(d.reply.code <= 599);
                CHECK_FALSE(d.reply.lines.empty());
                CHECK_FALSE(d.reply.lines.front().empty());
                if (!d.reply.esc.empty()) CHECK(asmtpd::proto::esc_matches(d.reply.esc, d.reply.code));
            }
            // Disconnect results always close; plain denials never do.
            if (!hook_result_ignored(hook) && hook != Hook::ReceivedLine) {
                if (kResults[ri] == R::DenyDisconnect || kResults[ri] == R::DenySoftDisconnect)
                    CHECK(d.action == A::RespondClose);
            }
            if (d.action == A::RespondClose && d.reply.code / 100 == 4 && hook != Hook::Quit) CHECK(d.reply.code == 421);
            ++cells;
        }
    }
    CHECK(cells == 7 * static_cast<int>(kHookCount));
}

TEST_CASE("dispose: verdict text replaces the default text, multi-line on \\n") {
    auto d = dispose(Hook::Rcpt, Verdict::deny("no such user here"));
    CHECK(d.action == A::Respond);
    CHECK(d.reply.code == 550);
    CHECK(d.reply.esc == "5.7.1");
    REQUIRE(d.reply.lines.size() == 1);
    CHECK(d.reply.lines[0] == "no such user here");

    d = dispose(Hook::Mail, Verdict::deny_soft("line one\nline two\n"));
    CHECK(d.reply.code == 450);
    REQUIRE(d.reply.lines.size() == 2);
    CHECK(d.reply.lines[1] == "line two");

    // mail_pre OK carries the rewritten path as its text.
    d = dispose(Hook::MailPre, Verdict::ok("<new@example.org>"));
    CHECK(d.action == A::Proceed);
    CHECK(joined(d.reply) == "<new@example.org>");

    d = dispose(Hook::Queue, Verdict::ok("Queued! 1234 qp 99"));
    CHECK(d.action == A::Proceed);
    CHECK(d.reply.code == 250);
    CHECK(joined(d.reply) == "Queued! 1234 qp 99");
}

TEST_CASE("dispose: a reply of the result's class replaces code, esc and text") {
    auto d = dispose(Hook::Rcpt, with_reply(R::Deny, 553, "5.1.1", "mailbox unknown"));
    CHECK(d.action == A::Respond);
    CHECK(d.reply.code == 553);
    CHECK(d.reply.esc == "5.1.1");
    CHECK(joined(d.reply) == "mailbox unknown");

    d = dispose(Hook::Mail, with_reply(R::DenySoft, 421, "4.4.5", "busy"));
    CHECK(d.action == A::Respond);   // the action comes from the result, not the code
    CHECK(d.reply.code == 421);

    d = dispose(Hook::Rcpt, with_reply(R::DenySoftDisconnect, 451, "4.7.1", "greylisted"));
    CHECK(d.action == A::RespondClose);
    CHECK(d.reply.code == 451);

    // Success: any 2xx/3xx replaces the default positive reply.
    d = dispose(Hook::Queue, with_reply(R::Ok, 250, "2.6.0", "queued as ABC"));
    CHECK(d.reply.code == 250);
    CHECK(d.reply.esc == "2.6.0");
    d = dispose(Hook::Data, with_reply(R::Ok, 354, "", "go ahead"));
    CHECK(d.action == A::Proceed);
    CHECK(d.reply.code == 354);
    CHECK(d.reply.esc.empty());
    CHECK(joined(d.reply) == "go ahead");
    d = dispose(Hook::Vrfy, with_reply(R::Ok, 252, "2.1.5", "maybe"));
    CHECK(d.reply.code == 252);

    // DENYSOFT of unrecognized_command defaults to 500 but may pick a 4xx.
    d = dispose(Hook::UnrecognizedCommand, with_reply(R::DenySoft, 451, "4.5.1", "later"));
    CHECK(d.reply.code == 451);
}

TEST_CASE("dispose: a reply of the wrong class keeps the default code, uses its text") {
    // A DENY with a 4xx reply stays a 5xx.
    auto d = dispose(Hook::Rcpt, with_reply(R::Deny, 450, "4.2.0", "soft text"));
    CHECK(d.reply.code == 550);
    CHECK(d.reply.esc == "5.7.1");
    CHECK(joined(d.reply) == "soft text");

    // A DENYSOFT with a 5xx reply stays a 4xx.
    d = dispose(Hook::Mail, with_reply(R::DenySoft, 550, "5.7.1", "hard text"));
    CHECK(d.reply.code == 450);
    CHECK(d.reply.esc == "4.7.1");

    // A DENY with a 2xx reply can never become success.
    d = dispose(Hook::Data, with_reply(R::Deny, 250, "2.0.0", "fine"));
    CHECK(d.action == A::Respond);
    CHECK(d.reply.code == 554);

    // Fail closed: a DECLINED rcpt with a 250 reply is still 450.
    d = dispose(Hook::Rcpt, with_reply(R::Declined, 250, "2.1.5", "ok really"));
    CHECK(d.action == A::Respond);
    CHECK(d.reply.code == 450);
    CHECK(d.reply.esc == "4.7.1");
    d = dispose(Hook::Queue, with_reply(R::Declined, 250, "2.0.0", "queued?"));
    CHECK(d.reply.code == 451);
    d = dispose(Hook::Auth, with_reply(R::Declined, 235, "2.7.0", "welcome"));
    CHECK(d.reply.code == 535);

    // ... but a same-class reply still replaces it.
    d = dispose(Hook::Rcpt, with_reply(R::Declined, 451, "4.3.2", "try later"));
    CHECK(d.reply.code == 451);
    CHECK(d.reply.esc == "4.3.2");

    // OK of an unrecognized verb is still a 500; QUIT stays 221 whatever a plugin says.
    d = dispose(Hook::UnrecognizedCommand, with_reply(R::Ok, 250, "2.0.0", "sure"));
    CHECK(d.reply.code == 500);
    d = dispose(Hook::Quit, with_reply(R::Deny, 554, "5.7.1", "no"));
    CHECK(d.action == A::RespondClose);
    CHECK(d.reply.code == 221);
    CHECK(d.reply.esc == "2.0.0");
    d = dispose(Hook::Quit, with_reply(R::Ok, 221, "2.0.0", "bye now"));
    CHECK(joined(d.reply) == "bye now");

    // Out-of-range codes never get through.
    for (int bad : {0, 99, 199, 600, 999, -550}) {
        CAPTURE(bad);
        d = dispose(Hook::Rcpt, with_reply(R::Deny, bad, "5.7.1", "x"));
        CHECK(d.reply.code == 550);
    }
}

TEST_CASE("dispose: a mismatched or missing esc falls back") {
    // Reply accepted, esc of the wrong class: the default esc of the row.
    auto d = dispose(Hook::Rcpt, with_reply(R::Deny, 553, "4.1.1", "x"));
    CHECK(d.reply.code == 553);
    CHECK(d.reply.esc == "5.7.1");
    // Missing esc: the row's.
    d = dispose(Hook::Rcpt, with_reply(R::Deny, 551, "", "x"));
    CHECK(d.reply.esc == "5.7.1");
    // Garbage esc: the row's.
    d = dispose(Hook::Mail, with_reply(R::DenySoft, 451, "4.x.1", "x"));
    CHECK(d.reply.esc == "4.7.1");
    // The row's esc does not fit the new class (data OK 354 -> 250): generic X.0.0.
    d = dispose(Hook::Data, with_reply(R::Ok, 250, "", "x"));
    CHECK(d.reply.code == 250);
    CHECK(d.reply.esc == "2.0.0");
    // 3xx carries no enhanced code.
    d = dispose(Hook::Help, with_reply(R::Ok, 354, "3.0.0", "x"));
    CHECK(d.reply.code == 354);
    CHECK(d.reply.esc.empty());
}

TEST_CASE("dispose: a reply with no lines keeps the text") {
    Verdict v{R::Deny, "from text", Reply{553, "5.1.1", {}}};
    auto d = dispose(Hook::Rcpt, v);
    CHECK(d.reply.code == 553);
    CHECK(joined(d.reply) == "from text");
    v.text.clear();
    d = dispose(Hook::Rcpt, v);
    CHECK(joined(d.reply) == "Relaying denied");
}

TEST_CASE("dispose: out-of-range hook or result is refused, never proceeds") {
    auto d = dispose(Hook::Count_, Verdict::ok());
    CHECK(d.action == A::Respond);
    CHECK(d.reply.code / 100 == 4);
    d = dispose(Hook::Rcpt, Verdict{static_cast<Result>(17), {}, {}});
    CHECK(d.action == A::Respond);
    CHECK(d.reply.code / 100 == 4);
}

TEST_CASE("dispose: qmail-spp flags (verbatim, close_silently, keep_session)") {
    // verbatim: the reply goes out as given, no enhanced code invented.
    Verdict v{R::Deny, {}, Reply{550, "", {"bye"}}};
    v.verbatim = true;
    auto d = dispose(Hook::Rcpt, v);
    CHECK(d.reply.code == 550);
    CHECK(d.reply.esc.empty());
    CHECK(d.reply.wire(true) == "550 bye\r\n");
    v.reply->esc = "5.7.1";
    CHECK(dispose(Hook::Rcpt, v).reply.esc == "5.7.1");
    v.reply->esc = "4.7.1";   // a given esc of the wrong class is dropped, never sent
    CHECK(dispose(Hook::Rcpt, v).reply.esc.empty());
    // verbatim never lets a reply of the wrong class through.
    Verdict up{R::Deny, {}, Reply{250, "", {"ok"}}};
    up.verbatim = true;
    CHECK(dispose(Hook::Mail, up).reply.code == 550);
    CHECK(dispose(Hook::Mail, up).action == A::Respond);

    // close_silently: any refusal becomes SilentClose; success is untouched.
    for (Hook h : {Hook::Connect, Hook::Helo, Hook::Mail, Hook::Rcpt, Hook::Data, Hook::DataPost}) {
        Verdict s = Verdict::deny_disconnect();
        s.close_silently = true;
        CHECK(dispose(h, s).action == A::SilentClose);
        s.result = R::DenySoft;
        CHECK(dispose(h, s).action == A::SilentClose);
    }
    Verdict okv = Verdict::ok();
    okv.close_silently = true;
    CHECK(dispose(Hook::Mail, okv).action == A::Proceed);

    // keep_session: a connect refusal replies and the session goes on; nothing else changes.
    Verdict c{R::Deny, {}, Reply{554, "", {"5.7.1 go away"}}};
    c.verbatim = true;
    c.keep_session = true;
    auto cd = dispose(Hook::Connect, c);
    CHECK(cd.action == A::Respond);
    CHECK(cd.reply.wire(true) == "554 5.7.1 go away\r\n");
    c.result = R::DenySoft;
    c.reply->code = 451;
    CHECK(dispose(Hook::Connect, c).action == A::Respond);
    c.result = R::DenyDisconnect;
    c.reply->code = 554;
    CHECK(dispose(Hook::Connect, c).action == A::Respond);   // the flag says keep: the plugin asked
    CHECK(dispose(Hook::Mail, c).action == A::RespondClose);  // only connect reads it
    Verdict plain{R::Deny, {}, {}};
    CHECK(dispose(Hook::Connect, plain).action == A::RespondClose);
}

TEST_CASE("dispose: auth_post and rcpt_post with qmail-spp replies ([auth] / [pass])") {
    // [auth] E535 5.7.8 no: sent exactly, the session stays unauthenticated (Respond).
    Verdict e{R::Deny, {}, Reply{535, "", {"5.7.8 no"}}};
    e.verbatim = true;
    auto d = dispose(Hook::AuthPost, e);
    CHECK(d.action == A::Respond);
    CHECK(d.reply.wire(true) == "535 5.7.8 no\r\n");
    // Another 5xx code is the plugin's choice; a 4xx under DENY is not (class kept).
    e.reply->code = 550;
    CHECK(dispose(Hook::AuthPost, e).reply.code == 550);
    e.reply->code = 454;
    CHECK(dispose(Hook::AuthPost, e).reply.code == 535);
    // spp's 451 failure reply fits DENYSOFT.
    Verdict f{R::DenySoft, {}, Reply{451, "", {"qmail-spp failure: x: child crashed (#4.3.0)"}}};
    f.verbatim = true;
    CHECK(dispose(Hook::AuthPost, f).reply.wire(true) == "451 qmail-spp failure: x: child crashed (#4.3.0)\r\n");
    CHECK(dispose(Hook::RcptPost, f).action == A::Respond);
    // R: reply and close; D: close without a word.
    Verdict r{R::DenyDisconnect, {}, Reply{550, "", {"bye"}}};
    r.verbatim = true;
    CHECK(dispose(Hook::AuthPost, r).action == A::RespondClose);
    CHECK(dispose(Hook::RcptPost, r).action == A::RespondClose);
    Verdict drop = Verdict::deny_disconnect();
    drop.close_silently = true;
    CHECK(dispose(Hook::AuthPost, drop).action == A::SilentClose);
    CHECK(dispose(Hook::RcptPost, drop).action == A::SilentClose);
    // A success reply can never turn an auth_post refusal into 235, nor a DECLINED into a refusal.
    Verdict up{R::Deny, {}, Reply{235, "", {"ok"}}};
    CHECK(dispose(Hook::AuthPost, up).reply.code == 535);
    Verdict keep{R::Declined, {}, Reply{550, "", {"no"}}};
    CHECK(dispose(Hook::AuthPost, keep).action == A::Proceed);
    CHECK(dispose(Hook::RcptPost, keep).action == A::Proceed);
}

}  // namespace ASMTPD_TEST_UNIT

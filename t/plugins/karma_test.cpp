// karma_test.cpp - tests plugins/karma.cpp and plugins/naughty.cpp on the embedded state store
// (a file in the test's directory): the score the deny/ok hooks give, the record a session
// leaves, the penalty box and every `reject` of it, immunity, naughty's deferred refusal and its
// hook, a store that does not answer, bad arguments.
#include <doctest/doctest.h>

#include "t/support/fake_context.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using hooks::Hook;
using test::FakeContext;
using test::PluginHarness;
using test::result_name;

namespace {

hooks::OutcomeArgs outcome(Hook subject, std::string plugin, hooks::Result r) {
    hooks::Verdict v;
    v.result = r;
    return hooks::OutcomeArgs{subject, std::move(plugin), v};
}

// One session: connect, the given refusals by another plugin, disconnect (the write landed).
std::optional<hooks::Verdict> session(FakeContext& ctx, PluginHarness& p, int refusals) {
    ctx.notes_map.clear();
    auto v = p.call(Hook::Connect);
    for (int i = 0; i < refusals; ++i) p.call(Hook::Deny, outcome(Hook::Mail, "check_badmailfrom", hooks::Result::Deny));
    p.call(Hook::Disconnect);
    ctx.run();
    return v;
}

}  // namespace

TEST_CASE("karma: other plugins' verdicts move karma_score") {
    FakeContext ctx;
    PluginHarness p(ctx, "karma", {"exclude", "greylisting,spf"});
    REQUIRE_FALSE(p.init_error);
    CHECK(result_name(p.call(Hook::Connect)) == std::string("DECLINED"));
    CHECK(ctx.notes_map["karma_score"] == "0");
    CHECK(ctx.notes_map["karma_history"] == "0");
    CHECK(ctx.notes_map["karma_record"] == "none");
    p.call(Hook::Deny, outcome(Hook::Rcpt, "dnsbl", hooks::Result::DenySoft));
    CHECK(ctx.notes_map["karma_score"] == "-1");
    for (auto who : {"karma", "naughty", "naughty:2", "greylisting", "spf"})
        p.call(Hook::Deny, outcome(Hook::Rcpt, who, hooks::Result::Deny));
    p.call(Hook::Deny, outcome(Hook::Queue, "queue/smtp_forward", hooks::Result::DenySoft));   // ours
    auto timeout = outcome(Hook::DataPost, "spamassassin", hooks::Result::DenySoft);
    timeout.verdict.text = "plugin timeout";
    p.call(Hook::Deny, timeout);
    CHECK(ctx.notes_map["karma_score"] == "-1");
    p.call(Hook::Ok, outcome(Hook::Rcpt, "rcpt_ok", hooks::Result::Ok));    // every recipient: no karma
    CHECK(ctx.notes_map["karma_score"] == "-1");
    p.call(Hook::Ok, outcome(Hook::Queue, "queue/maildir", hooks::Result::Ok));
    p.call(Hook::Ok, outcome(Hook::AuthPlain, "auth/flat_file", hooks::Result::Ok));
    CHECK(ctx.notes_map["karma_score"] == "1");
}

TEST_CASE("karma: the record a session leaves, and the penalty box with reject 1") {
    FakeContext ctx;
    PluginHarness p(ctx, "karma", {"reject", "1", "strikes", "2", "negative", "1", "penalty_days", "0.5"});
    REQUIRE_FALSE(p.init_error);
    CHECK(result_name(session(ctx, p, 1)) == std::string("DECLINED"));   // neutral
    CHECK(result_name(session(ctx, p, 2)) == std::string("DECLINED"));   // naughty: the box
    CHECK(ctx.log_text().find("karma: naughty, sent to penalty box for 0.50 days (msg: -2, his: -1)") !=
          std::string::npos);
    auto v = session(ctx, p, 0);
    CHECK(result_name(v) == std::string("DENY_DISCONNECT"));
    CHECK(test::text_of(v) == "You were naughty. You cannot connect for 0.50 more days.");
    CHECK(ctx.notes_map["karma_history"] == "-1");
    CHECK(ctx.notes_map["karma_penalty"] == "0.50");
    CHECK(ctx.notes_map["karma_record"].starts_with("1 naughty, 0 nice, 2 connects, last seen "));
    // Another address has its own history.
    ctx.conn.remote_ip = "192.0.2.11";
    CHECK(result_name(session(ctx, p, 0)) == std::string("DECLINED"));
    // Immune clients are never refused.
    ctx.conn.remote_ip = "192.0.2.10";
    ctx.conn.relay_client = true;
    CHECK(result_name(session(ctx, p, 0)) == std::string("DECLINED"));
}

TEST_CASE("karma: reject 0 logs, reject naughty leaves it to naughty at its hook") {
    FakeContext ctx;
    {
        PluginHarness box(ctx, "karma", {"reject", "0"});
        session(ctx, box, 1);   // strikes 1, negative 1: the box
        CHECK(result_name(session(ctx, box, 0)) == std::string("DECLINED"));
        CHECK(ctx.log_text().find("karma: fail, tolerated, in the penalty box") != std::string::npos);
    }
    PluginHarness karma(ctx, "karma");   // qpsmtpd's default: reject naughty, reject_type disconnect
    PluginHarness naughty(ctx, "naughty");
    ctx.notes_map.clear();
    CHECK(result_name(karma.call(Hook::Connect)) == std::string("DECLINED"));
    CHECK(ctx.notes_map["naughty"] == "(karma) You were naughty. You cannot connect for 1.00 more days.");
    CHECK(ctx.notes_map["naughty_reject_type"] == "DENY_DISCONNECT");
    CHECK(ctx.notes_map["karma_score"] == "0");   // the IP's past, not this session's doing
    CHECK(naughty.handlers(Hook::Connect) == 0);
    CHECK(result_name(naughty.mail("good", "example.org")) == std::string("DECLINED"));
    auto v = naughty.rcpt("a", "example.org");
    CHECK(result_name(v) == std::string("DENY_DISCONNECT"));
    CHECK(test::text_of(v) == "(karma) You were naughty. You cannot connect for 1.00 more days.");
}

TEST_CASE("naughty: its hook, data_post as well, the first reason's type, lines, auth clears") {
    FakeContext ctx;
    PluginHarness p(ctx, "naughty", {"reject", "mail", "reject_type", "temp"});
    REQUIRE_FALSE(p.init_error);
    CHECK(p.handlers(Hook::Mail) == 1);
    CHECK(p.handlers(Hook::Rcpt) == 0);
    CHECK(p.handlers(Hook::DataPost) == 1);
    CHECK(result_name(p.mail("a", "example.org")) == std::string("DECLINED"));   // nobody marked it
    ctx.notes_map["naughty"] = "(dnsbl) listed\r\n(helo) bad helo";
    auto v = p.mail("a", "example.org");
    CHECK(result_name(v) == std::string("DENYSOFT"));   // no type noted: naughty's own
    CHECK(test::text_of(v) == "(dnsbl) listed\n(helo) bad helo");
    ctx.notes_map["naughty_reject_type"] = "DENY";
    CHECK(result_name(p.call(Hook::DataPost)) == std::string("DENY"));
    ctx.notes_map["naughty_reject_type"] = "disconnect";   // qpsmtpd's word, from a script
    CHECK(result_name(p.mail("a", "example.org")) == std::string("DENY_DISCONNECT"));
    p.call(Hook::AuthPost, hooks::AuthArgs{});
    CHECK(ctx.notes_map.count("naughty") == 0);
    CHECK(result_name(p.mail("a", "example.org")) == std::string("DECLINED"));

    PluginHarness post(ctx, "naughty", {"reject", "data_post"});
    CHECK(post.handlers(Hook::DataPost) == 1);
}

TEST_CASE("karma: a store that does not answer: accepted, not recorded") {
    FakeContext ctx;
    ctx.state_options.path = ctx.dir().path() + "/no/such/dir/state.mdb";
    PluginHarness p(ctx, "karma", {"reject", "1"});
    CHECK(result_name(session(ctx, p, 3)) == std::string("DECLINED"));
    CHECK(ctx.log_text().find("; accepting, the session is not recorded") != std::string::npos);
    CHECK(ctx.log_text().find("karma: naughty") == std::string::npos);
}

TEST_CASE("karma, naughty: bad arguments") {
    FakeContext ctx;
    for (auto args : std::vector<std::vector<std::string>>{{"reject", "2"},
                                                           {"reject", "connect", "reject_type", "later"},
                                                           {"strikes", "0"},
                                                           {"negative", "-1"},
                                                           {"penalty_days", "0"},
                                                           {"penalty_days", "1e3"},
                                                           {"history_days", "x"},
                                                           {"timeout", "soon"},
                                                           {"colour", "blue"}})
        CHECK_MESSAGE(PluginHarness(ctx, "karma", args).init_error, args[0] << " " << args[1]);
    CHECK_FALSE(PluginHarness(ctx, "karma", {"reject", "zombie", "db_dir", "/var/lib/qpsmtpd/karma", "loglevel", "6",
                                             "penalty_days", "0.25", "history_days", "30", "timeout", "0.5"})
                    .init_error);
    for (auto args : std::vector<std::vector<std::string>>{{"reject", "queue"}, {"reject_type", "maybe"}, {"x", "1"}})
        CHECK_MESSAGE(PluginHarness(ctx, "naughty", args).init_error, args[0]);
}

}  // namespace ASMTPD_TEST_UNIT

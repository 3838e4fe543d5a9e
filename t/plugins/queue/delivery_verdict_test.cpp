// delivery_verdict_test.cpp - tests plugins/queue/delivery_verdict.cpp: which next-hop answers become
// DENY (with the next hop's own code and text), which become 451 4.3.0, and that nothing here
// ever says OK or names an internal address to the client.
#include "plugins/queue/delivery_verdict.hpp"

#include <doctest/doctest.h>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using namespace asmtpd::client;
using namespace asmtpd::plugins;
using namespace asmtpd::hooks;
using proto::Reply;

namespace {

Reply r(int code, const char* esc, const char* text) { return Reply::make(code, esc, text); }

DeliveryReport at(Stage s) {
    DeliveryReport d;
    d.stage = s;
    return d;
}

void check_soft(const std::optional<Verdict>& v) {
    REQUIRE(v);
    CHECK(v->result == Result::DenySoft);
    REQUIRE(v->reply);
    CHECK(v->reply->code == 451);
    CHECK(v->reply->esc == "4.3.0");
    CHECK(v->text.rfind("Temporary failure forwarding the message: ", 0) == 0);
}

}  // namespace

TEST_CASE("pass_refusal: 5xx keeps code, enhanced code and text; the rest is 451") {
    auto v = pass_refusal(r(554, "5.7.1", "Rejected\nsecond line"));
    CHECK(v.result == Result::Deny);
    REQUIRE(v.reply);
    CHECK(v.reply->code == 554);
    CHECK(v.reply->esc == "5.7.1");
    CHECK(v.reply->lines == std::vector<std::string>{"Rejected", "second line"});
    CHECK(v.text == "Rejected\nsecond line");

    v = pass_refusal(r(550, "", "no esc"));
    CHECK(v.reply->esc == "5.0.0");
    v = pass_refusal(r(550, "4.1.1", "wrong class"));
    CHECK(v.reply->esc == "5.0.0");

    Reply many = r(550, "5.1.1", "");
    many.lines.assign(20, "line");
    CHECK(pass_refusal(many).reply->lines.size() == 8);

    v = pass_refusal(r(452, "4.2.2", "Mailbox full"));
    check_soft(v);
    CHECK(v.text.find("452 4.2.2 Mailbox full") != std::string::npos);
    check_soft(pass_refusal(r(250, "2.0.0", "odd")));
}

TEST_CASE("verdict_before_final: local failures are 451 without internal details") {
    for (Failure f : {Failure::Connect, Failure::Timeout, Failure::Closed, Failure::Protocol, Failure::Local}) {
        for (Stage s : {Stage::Connect, Stage::Mail, Stage::Rcpt, Stage::Body, Stage::DataEnd, Stage::Done}) {
            DeliveryReport d = at(s);
            d.failure = f;
            d.error = "connect to 10.1.2.3:25: connection refused";
            auto v = verdict_before_final(d);
            check_soft(v);
            CHECK(v->text.find("10.1.2.3") == std::string::npos);
            CHECK(v->text.find(std::string(to_string(f))) != std::string::npos);
        }
    }
    DeliveryReport closing = at(Stage::Rcpt);
    closing.failure = Failure::Closed;
    closing.error = "x";
    closing.refusal = r(421, "4.3.2", "Shutting down");
    auto v = verdict_before_final(closing);
    check_soft(v);
    CHECK(v->text.find("421 4.3.2 Shutting down") != std::string::npos);
}

TEST_CASE("verdict_before_final: the next hop refusing us is never the message's fault") {
    for (Stage s : {Stage::Greeting, Stage::Hello}) {
        DeliveryReport d = at(s);
        d.refusal = r(554, "5.7.1", "No service for you");
        auto v = verdict_before_final(d);
        check_soft(v);
        CHECK(v->text.find("554 5.7.1 No service for you") != std::string::npos);
    }
}

TEST_CASE("verdict_before_final: MAIL and DATA refusals pass through") {
    for (Stage s : {Stage::Mail, Stage::Data}) {
        DeliveryReport d = at(s);
        d.refusal = r(552, "5.3.4", "Message too big");
        auto v = verdict_before_final(d);
        REQUIRE(v);
        CHECK(v->result == Result::Deny);
        CHECK(v->reply->code == 552);
        CHECK(v->reply->esc == "5.3.4");
        d.refusal = r(451, "4.3.0", "Try later");
        check_soft(verdict_before_final(d));
        d.refusal.reset();
        check_soft(verdict_before_final(d));
    }
}

TEST_CASE("verdict_before_final: recipients") {
    DeliveryReport d = at(Stage::Rcpt);
    d.rcpt_replies = {r(550, "5.1.1", "No such user a"), r(553, "5.7.1", "Relay b")};
    d.refusal = d.rcpt_replies.front();
    auto v = verdict_before_final(d);
    REQUIRE(v);
    CHECK(v->result == Result::Deny);
    CHECK(v->reply->code == 550);
    CHECK(v->reply->lines == std::vector<std::string>{"No such user a"});

    d.rcpt_replies = {r(250, "2.1.5", "ok"), r(550, "5.1.1", "No such user b")};
    v = verdict_before_final(d);
    check_soft(v);
    CHECK(v->text.find("550 5.1.1 No such user b") != std::string::npos);

    d.rcpt_replies = {r(450, "4.2.1", "later"), r(550, "5.1.1", "gone")};
    check_soft(verdict_before_final(d));
    d.rcpt_replies = {r(450, "4.2.1", "later")};
    check_soft(verdict_before_final(d));
    d.rcpt_replies.clear();
    check_soft(verdict_before_final(d));
    d.rcpt_replies = {r(250, "2.1.5", "ok")};   // all accepted yet stopped: nonsense, never OK
    check_soft(verdict_before_final(d));
}

TEST_CASE("verdict_before_final: a complete report is for the plugin to judge; others never OK") {
    DeliveryReport done = at(Stage::Done);
    done.final_replies = {r(250, "2.0.0", "ok")};
    CHECK_FALSE(verdict_before_final(done));
    for (Stage s : {Stage::Body, Stage::DataEnd, Stage::Connect}) check_soft(verdict_before_final(at(s)));
}

TEST_CASE("describe: everything a log reader needs") {
    DeliveryReport d = at(Stage::DataEnd);
    d.failure = Failure::Timeout;
    d.error = "timed out after 300 s waiting for the reply to final dot";
    d.rcpt_replies = {r(250, "2.1.5", "a"), r(250, "2.1.5", "b")};
    d.dot_sent = true;
    std::string s = describe(d);
    CHECK(s.find("stage final dot") != std::string::npos);
    CHECK(s.find("next hop timed out: timed out after 300 s") != std::string::npos);
    CHECK(s.find("rcpt [250 2.1.5 a; 250 2.1.5 b]") != std::string::npos);
    CHECK(s.find("may hold a copy") != std::string::npos);
}

TEST_CASE("verdict_before_final: a next hop with our own host name is 451 4.4.6, never a bounce") {
    DeliveryReport d = at(Stage::Greeting);
    d.failure = Failure::Loop;
    d.error = "next hop 127.0.0.5:25 greets as mx.example, our own host name";
    auto v = verdict_before_final(d);
    REQUIRE(v);
    CHECK(v->result == Result::DenySoft);
    REQUIRE(v->reply);
    CHECK(v->reply->code == 451);
    CHECK(v->reply->esc == "4.4.6");
    CHECK(v->text.find("loops back to me") != std::string::npos);
    CHECK(v->text.find("127.0.0.5") == std::string::npos);
}

TEST_CASE("route_failure: null MX 556 5.1.10, no route 550 5.4.4, DNS trouble 451 4.4.3") {
    Route route;
    route.status = Route::Status::NullMx;
    auto v = route_failure(route, "nullmx.example");
    CHECK(v.result == Result::Deny);
    CHECK(v.reply->code == 556);
    CHECK(v.reply->esc == "5.1.10");
    CHECK(v.text == "Recipient domain nullmx.example does not accept mail (null MX)");
    route.status = Route::Status::NoRoute;
    route.why = "domain does not exist (NXDOMAIN)";
    v = route_failure(route, "ghost.example");
    CHECK(v.result == Result::Deny);
    CHECK(v.reply->code == 550);
    CHECK(v.reply->esc == "5.4.4");
    CHECK(v.text == "Unable to route mail to ghost.example: domain does not exist (NXDOMAIN)");
    route.status = Route::Status::TempFail;
    v = route_failure(route, "broken.example");
    CHECK(v.result == Result::DenySoft);
    CHECK(v.reply->code == 451);
    CHECK(v.reply->esc == "4.4.3");
    CHECK(v.text == "Temporary failure in DNS lookup of broken.example");
    // The configured next hop: always temporary, and its name stays internal.
    for (auto s : {Route::Status::NoRoute, Route::Status::TempFail, Route::Status::NullMx}) {
        route.status = s;
        v = route_failure(route, "");
        CHECK(v.result == Result::DenySoft);
        CHECK(v.reply->esc == "4.4.3");
        CHECK(v.text == "Temporary failure in DNS lookup of the next hop");
    }
}

TEST_CASE("combine_domains: OK only when every domain took it; 5xx only when nothing was delivered") {
    const Verdict ok1 = Verdict::ok("Queued as X (250 2.0.0 Ok: queued as A)");
    const Verdict ok2 = Verdict::ok("Queued as X (250 2.0.0 Ok: queued as B)");
    const Verdict refused = pass_refusal(r(550, "5.1.1", "No such user"));
    const Verdict later = soft_failure("next hop said 450 4.2.0 try later");

    auto v = combine_domains({{"a.example", ok1}}, 1, "X");
    CHECK(v.result == Result::Ok);
    CHECK(v.text == ok1.text);   // a single domain keeps the next hop's words
    v = combine_domains({{"a.example", ok1}, {"b.example", ok2}}, 2, "X");
    CHECK(v.result == Result::Ok);
    CHECK(v.text == "Queued as X (2 recipient domains)");
    // Never OK while a domain was not tried.
    check_soft(combine_domains({{"a.example", ok1}}, 2, "X"));
    check_soft(combine_domains({}, 1, "X"));

    // Nothing delivered: the first domain's own answer, 5xx included.
    v = combine_domains({{"a.example", refused}}, 2, "X");
    CHECK(v.result == Result::Deny);
    CHECK(v.reply->code == 550);
    v = combine_domains({{"a.example", later}}, 2, "X");
    CHECK(v.result == Result::DenySoft);

    // Delivered to a.example, refused by b.example: 451, never the 5xx.
    v = combine_domains({{"a.example", ok1}, {"b.example", refused}}, 2, "X");
    check_soft(v);
    CHECK(v.text.find("b.example") != std::string::npos);
    check_soft(combine_domains({{"a.example", ok1}, {"b.example", later}}, 3, "X"));
}

}  // namespace ASMTPD_TEST_UNIT

// dmarc_test.cpp - tests plugins/dmarc/dmarc.cpp: arguments; the observer attached at data
// and fed the message in chunks as the session would; records served by the test DNS server
// (t/e2e/dns_server.py); the spf and dkim_results notes as the other plugins leave them; the
// dmarc note, the quarantine header, the refusal at data_post (not before), relay clients.
// The whole chain with dkimpy-signed mail is t/e2e/test_dmarc.py.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "plugins/common/dmarc_note.hpp"
#include "t/support/dns_server.hpp"
#include "t/support/fake_context.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using test::FakeContext;
using test::PluginHarness;

namespace {

const std::string kZones =
    "$TTL 60\n$ORIGIN example.com.\n@ IN SOA ns.example.com. h.example.com. 1 60 60 60 30\n"
    "_dmarc IN TXT \"v=DMARC1; p=reject; sp=quarantine; aspf=s\"\n"
    "$ORIGIN example.net.\n@ IN SOA ns.example.net. h.example.net. 1 60 60 60 30\n"
    "_dmarc IN TXT \"v=DMARC1; p=none\"\n"
    "_dmarc IN TXT \"v=DMARC1; p=reject\"\n"
    "!servfail _dmarc.broken.example.com\n";

std::string message(const std::string& from) { return "From: " + from + "\r\nSubject: x\r\n\r\nbody\r\n"; }

struct Run {
    std::optional<hooks::Verdict> post_headers, post;
};

// data, the content in chunks, the dot, data_post_headers, data_post.
Run deliver(FakeContext& ctx, PluginHarness& p, const std::string& msg, const std::string& spf_note = {},
            const std::string& dkim_results = {}) {
    ctx.txn.emplace();
    ctx.txn->sender = proto::Address{"bounce", "mail.example.com"};
    if (!spf_note.empty()) ctx.txn->notes["spf"] = spf_note;
    if (!dkim_results.empty()) ctx.txn->notes["dkim_results"] = dkim_results;
    auto v = p.call(hooks::Hook::Data);
    REQUIRE(v);
    for (std::size_t at = 0; at < msg.size(); at += 5)
        for (const auto& o : ctx.txn->body_observers) o->content(std::string_view(msg).substr(at, 5));
    for (const auto& o : ctx.txn->body_observers) o->end();
    Run r;
    r.post_headers = p.call(hooks::Hook::DataPostHeaders);
    r.post = p.call(hooks::Hook::DataPost);
    return r;
}

struct Fixture {
    test::DnsTestServer dns{kZones};
    FakeContext ctx;
    Fixture() { ctx.dns_server = dns.address(); }
};

}  // namespace

TEST_CASE("dmarc: arguments") {
    FakeContext ctx;
    for (auto args : std::vector<std::vector<std::string>>{{}, {"reject", "0"}, {"reject", "naughty", "reject_type", "temp"},
                                                           {"timeout", "2"}, {"sample_seed", "42"}})
        CHECK_FALSE(PluginHarness(ctx, "dmarc", args).init_error);
    for (auto args : std::vector<std::vector<std::string>>{{"reject", "2"}, {"reject_type", "x"}, {"sample_seed", "x"},
                                                           {"public_suffix_list", "/nonexistent"}, {"bogus", "1"}})
        CHECK(PluginHarness(ctx, "dmarc", args).init_error);
}

TEST_CASE("dmarc: an unaligned message under p=reject is noted at data_post_headers, refused at data_post") {
    Fixture f;
    PluginHarness p(f.ctx, "dmarc");
    Run r = deliver(f.ctx, p, message("Joe <joe@example.com>"), "pass identity=mailfrom domain=mail.example.com reason=x");
    REQUIRE(r.post_headers);
    CHECK(r.post_headers->result == hooks::Result::Declined);   // aspf=s: mail.example.com does not align
    CHECK(f.ctx.txn->notes["dmarc"] == "fail (p=reject sp=quarantine dis=reject) header.from=example.com");
    REQUIRE(r.post);
    CHECK(r.post->result == hooks::Result::Deny);
    REQUIRE(r.post->reply);
    CHECK(r.post->reply->code == 550);
    CHECK(r.post->reply->esc == "5.7.1");
    CHECK(f.ctx.log_text().find("dmarc: fail header_from=example.com envelope_from=mail.example.com") != std::string::npos);

    // A DKIM pass for the domain aligns: accepted.
    r = deliver(f.ctx, p, message("joe@example.com"), "", "pass\texample.com\tsel\trsa-sha256\t@example.com\tAbCd\tn\t");
    REQUIRE(r.post);
    CHECK(r.post->result == hooks::Result::Declined);
    CHECK(f.ctx.txn->notes["dmarc"] == "pass (p=reject sp=quarantine dis=none) header.from=example.com");
}

TEST_CASE("dmarc: a subdomain takes sp from the organizational domain: quarantine adds the header") {
    Fixture f;
    PluginHarness p(f.ctx, "dmarc");
    Run r = deliver(f.ctx, p, message("news@news.example.com"));
    REQUIRE(r.post);
    CHECK(r.post->result == hooks::Result::Declined);
    REQUIRE(f.ctx.txn->added_headers.size() == 1);
    CHECK(f.ctx.txn->added_headers[0] ==
          "X-DMARC-Quarantine: fail (p=reject sp=quarantine dis=quarantine) header.from=news.example.com");
}

TEST_CASE("dmarc: several records are a permerror; a SERVFAIL is a temperror; reject 0 never refuses") {
    Fixture f;
    PluginHarness p(f.ctx, "dmarc");
    Run r = deliver(f.ctx, p, message("a@example.net"));
    CHECK(f.ctx.txn->notes["dmarc"] == "permerror header.from=example.net");
    CHECK(r.post->result == hooks::Result::Declined);
    r = deliver(f.ctx, p, message("a@broken.example.com"));
    CHECK(f.ctx.txn->notes["dmarc"] == "temperror header.from=broken.example.com");
    CHECK(r.post->result == hooks::Result::Declined);
    PluginHarness soft(f.ctx, "dmarc", {"reject_type", "temp"});
    r = deliver(f.ctx, soft, message("a@broken.example.com"));
    CHECK(r.post->result == hooks::Result::DenySoft);
    CHECK(r.post->reply->code == 451);
    PluginHarness lenient(f.ctx, "dmarc", {"reject", "0"});
    r = deliver(f.ctx, lenient, message("joe@example.com"));
    CHECK(r.post->result == hooks::Result::Declined);
    CHECK(f.ctx.txn->notes["dmarc"] ==
          "fail (p=reject sp=quarantine dis=quarantine override=local_policy) header.from=example.com");
}

TEST_CASE("dmarc: From problems are permerrors refused at data_post; relay clients are skipped") {
    Fixture f;
    PluginHarness p(f.ctx, "dmarc");
    Run r = deliver(f.ctx, p, "From: a@example.com\r\nFrom: b@example.net\r\n\r\nx\r\n");
    CHECK(f.ctx.txn->notes["dmarc"] == "permerror (multiple From fields)");
    REQUIRE(r.post);
    CHECK(r.post->result == hooks::Result::Deny);
    CHECK(r.post->reply->lines.at(0) == "Message refused: multiple From fields (DMARC)");
    r = deliver(f.ctx, p, "Subject: none\r\n\r\nx\r\n");
    CHECK(f.ctx.txn->notes["dmarc"] == "permerror (no From field)");
    CHECK(r.post->result == hooks::Result::Deny);

    f.ctx.notes()["whitelisthost"] = "1";   // a trusted forwarder is not refused for it
    r = deliver(f.ctx, p, "From: a@example.com\r\nFrom: b@example.net\r\n\r\nx\r\n");
    CHECK(f.ctx.txn->notes["dmarc"] == "permerror (multiple From fields)");
    CHECK(r.post->result == hooks::Result::Declined);
    CHECK(f.ctx.log_text().find("override=trusted_forwarder") != std::string::npos);
    f.ctx.notes().erase("whitelisthost");

    f.ctx.connection().relay_client = true;
    r = deliver(f.ctx, p, message("joe@example.com"));
    CHECK(f.ctx.txn->body_observers.empty());
    CHECK(f.ctx.txn->notes.count("dmarc") == 0);
    CHECK(r.post->result == hooks::Result::Declined);
}

TEST_CASE("dmarc: a whitelisted sender is a mailing list: noted, not refused") {
    Fixture f;
    PluginHarness p(f.ctx, "dmarc");
    f.ctx.txn.emplace();
    Run r = deliver(f.ctx, p, message("joe@example.com"));   // baseline refused
    CHECK(r.post->result == hooks::Result::Deny);
    f.ctx.txn.emplace();
    f.ctx.txn->notes["whitelistsender"] = "1";
    auto v = p.call(hooks::Hook::Data);
    const std::string msg = message("joe@example.com");
    for (const auto& o : f.ctx.txn->body_observers) o->content(msg);
    for (const auto& o : f.ctx.txn->body_observers) o->end();
    p.call(hooks::Hook::DataPostHeaders);
    auto post = p.call(hooks::Hook::DataPost);
    REQUIRE(post);
    CHECK(post->result == hooks::Result::Declined);
    CHECK(f.ctx.txn->notes["dmarc"] ==
          "fail (p=reject sp=quarantine dis=none override=mailing_list) header.from=example.com");
}

}  // namespace ASMTPD_TEST_UNIT

// dkim_sign_test.cpp - tests `dkim sign` (plugins/dkim/dkim_signer.cpp, sign_keys.cpp,
// sign_observer.cpp): the key layout and every start-up error (each names the path), which
// sessions are signed, the signing domain (From, parent domain, alias link, envelope sender),
// and that the added field verifies (io::dkim::verify_message with the RFC 8463 keys). dkimpy
// and opendkim verify the daemon's output in t/e2e/test_dkim_sign.py.
#include <doctest/doctest.h>

#include <ctime>
#include <filesystem>
#include <string>
#include <vector>

#include "core/io/dkim_verify.hpp"
#include "plugins/dkim/dkim_observer.hpp"
#include "plugins/dkim/dkim_signer.hpp"
#include "t/core/io/dkim_rfc8463.hpp"
#include "t/support/fake_context.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using test::FakeContext;
using test::PluginHarness;
namespace rfc = test::rfc8463;
namespace fs = std::filesystem;

namespace {

const std::string kMessage =
    "From: Joe <joe@example.net>\r\nTo: Suzie <suzie@example.org>\r\nSubject: dinner\r\n"
    "Date: Fri, 11 Jul 2003 21:00:37 -0700\r\nReceived: by client\r\n\r\nHi.\r\n\r\nWe lost the game.\r\n";

constexpr std::string_view kShortRsaPem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIBVAIBADANBgkqhkiG9w0BAQEFAASCAT4wggE6AgEAAkEAqd3hLr0X7UUAxoQH\n"
    "JacWZ8+VNDy7ZV34aYH69sYPt67e9cL/ib4iYYikHMOQf40sBHG0UijHMw1FOJHi\n"
    "75s5IQIDAQABAkEAl0G4wzqj9KZOE3b7Oj73h4bjcDloENJFYgXY6CbjVgYQiwm3\n"
    "zrMD5nF+GVHDWepGgVIRCp823zpFSpBCOetBwQIhANXEVt5Kr04LJt+fT113AjGw\n"
    "6U7k6ISb9aTFACJB3qcJAiEAy200Vb7gbF9ymyZWU6VsylzmhaGuSrZtMFkDgMnk\n"
    "r1kCIDnmVz0Yb4ks/hd92ApRzLdW2qqy18PrVkqNzW559uu5AiBJp5uoZDk74/9J\n"
    "/8KH/MB8MNDil5zUvmKge8pR6kfb2QIgWd0KU5gOGP4Ig9gCElnZVM23VsYhz/eb\n"
    "fiTy+PTGL4A=\n"
    "-----END PRIVATE KEY-----\n";

// config/dkim/<domain>/{selector,private} in the context's config directory.
void add_key(FakeContext& ctx, const std::string& domain, std::string_view selector, std::string_view pem) {
    const fs::path dir = fs::path(ctx.dir().path()) / "dkim" / domain;
    fs::create_directories(dir);
    ctx.dir().write("dkim/" + domain + "/selector", selector);
    ctx.dir().write("dkim/" + domain + "/private", pem);
}

// example.net signs with RSA (selector rsa), example.org with Ed25519 (selector ed).
void standard_keys(FakeContext& ctx) {
    add_key(ctx, "example.net", "rsa\n", rfc::kRsaPrivatePem);
    add_key(ctx, "example.org", "ed", rfc::kEd25519PrivatePem);
}

// The message as queued: our header prefix (Received, added headers) then the content, after
// data, the content in chunks, the final dot and data_post.
std::string deliver(FakeContext& ctx, PluginHarness& p, std::string_view message, std::string sender = "joe@example.net",
                    std::size_t chunk = 7) {
    ctx.txn.emplace();
    if (auto at = sender.find('@'); at != std::string::npos)
        ctx.txn->sender = proto::Address{sender.substr(0, at), sender.substr(at + 1)};
    ctx.txn->received = "Received: from client by mx.example.org\r\n";
    auto v = p.call(hooks::Hook::Data);
    REQUIRE(v);
    for (std::size_t at = 0; at < message.size(); at += chunk)
        for (const auto& o : ctx.txn->body_observers) o->content(message.substr(at, chunk));
    for (const auto& o : ctx.txn->body_observers) o->end();
    v = p.call(hooks::Hook::DataPost);
    REQUIRE(v);
    CHECK(v->result == hooks::Result::Declined);
    return ctx.txn->header_prefix() + std::string(message);
}

std::vector<io::dkim::SignatureResult> verify(std::string_view message) {
    auto zone = [](const std::string& name) {
        using io::dkim::KeyAnswer;
        if (name == "rsa._domainkey.example.net") return KeyAnswer{KeyAnswer::Status::Found, std::string(rfc::kRsaRecord)};
        if (name == "ed._domainkey.example.org") return KeyAnswer{KeyAnswer::Status::Found, std::string(rfc::kEd25519Record)};
        return KeyAnswer{KeyAnswer::Status::NotFound, {}};
    };
    return io::dkim::verify_message(message, zone, static_cast<std::uint64_t>(std::time(nullptr)));
}

std::string init_error(FakeContext& ctx, std::vector<std::string> args = {"sign"}) {
    PluginHarness p(ctx, "dkim", std::move(args));
    return p.init_error.value_or("");
}

}  // namespace

TEST_CASE("dkim sign: arguments") {
    FakeContext ctx;
    standard_keys(ctx);
    for (auto args : std::vector<std::vector<std::string>>{{"sign"}, {"sign", "reject", "1"},
                                                           {"sign", "headers", "From:To:Subject", "oversign", "from:subject"},
                                                           {"sign", "oversign", "none"}, {"sign", "max_signatures", "2"}})
        CHECK_MESSAGE(init_error(ctx, args).empty(), args.size());
    CHECK(init_error(ctx, {"headers", "From"}) == "headers and oversign are signing arguments: write 'dkim sign ...'");
    CHECK(init_error(ctx, {"sign", "headers", "To:Subject"}) == "dkim sign: headers must include From (RFC 6376 §5.4)");
    CHECK(init_error(ctx, {"sign", "headers", "From::To"}).find("empty header name") != std::string::npos);
    CHECK(init_error(ctx, {"sign", "headers", "From:Bad\x01"}).find("not printable") != std::string::npos);
    CHECK(init_error(ctx, {"sign", "headers", "From:To", "oversign", "Subject"}) ==
          "dkim sign: oversign: Subject is not among the signed headers");
    CHECK_FALSE(init_error(ctx, {"sign", "bogus", "1"}).empty());

    std::vector<std::string> names;
    CHECK_FALSE(plugins::dkim::parse_header_names("From:to:FROM:Subject", names));
    CHECK(names == std::vector<std::string>{"From", "to", "Subject"});
}

TEST_CASE("dkim sign: start-up errors name the path") {
    SUBCASE("no config/dkim directory") {
        FakeContext ctx;
        CHECK(init_error(ctx) == "dkim sign: " + ctx.dir().path() + "/dkim: No such file or directory (the DKIM signing keys)");
    }
    SUBCASE("a directory without keys") {
        FakeContext ctx;
        fs::create_directories(fs::path(ctx.dir().path()) / "dkim");
        ctx.dir().write("dkim/dkim_key_gen.sh", "#!/bin/sh\n");   // files are ignored
        CHECK(init_error(ctx) == "dkim sign: " + ctx.dir().path() + "/dkim: no signing keys (expected <domain>/selector and <domain>/private)");
    }
    SUBCASE("no selector file") {
        FakeContext ctx;
        standard_keys(ctx);
        fs::remove(fs::path(ctx.dir().path()) / "dkim/example.org/selector");
        CHECK(init_error(ctx) == "dkim sign: " + ctx.dir().path() + "/dkim/example.org/selector: No such file or directory");
    }
    SUBCASE("a selector that is not a DNS name") {
        FakeContext ctx;
        standard_keys(ctx);
        ctx.dir().write("dkim/example.net/selector", "mar 2013\n");
        CHECK(init_error(ctx) == "dkim sign: " + ctx.dir().path() + "/dkim/example.net/selector: the selector 'mar 2013' is not a DNS name");
        ctx.dir().write("dkim/example.net/selector", "\n");
        CHECK(init_error(ctx).find("selector '' is not a DNS name") != std::string::npos);
    }
    SUBCASE("no private key, or one that is not a file") {
        FakeContext ctx;
        standard_keys(ctx);
        fs::remove(fs::path(ctx.dir().path()) / "dkim/example.net/private");
        CHECK(init_error(ctx) == "dkim sign: " + ctx.dir().path() + "/dkim/example.net/private: No such file or directory");
        fs::create_directories(fs::path(ctx.dir().path()) / "dkim/example.net/private");
        CHECK(init_error(ctx) == "dkim sign: " + ctx.dir().path() + "/dkim/example.net/private: not a regular file");
    }
    SUBCASE("a key OpenSSL cannot read, or one too short") {
        FakeContext ctx;
        standard_keys(ctx);
        ctx.dir().write("dkim/example.net/private", "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n");
        const std::string prefix = "dkim sign: " + ctx.dir().path() + "/dkim/example.net/private: ";
        CHECK(init_error(ctx).rfind(prefix, 0) == 0);
        ctx.dir().write("dkim/example.net/private", kShortRsaPem);
        const std::string e = init_error(ctx);
        CHECK(e.rfind(prefix, 0) == 0);
        CHECK(e.find("512") != std::string::npos);
    }
    SUBCASE("a directory whose name is not a domain; an alias to one") {
        FakeContext ctx;
        standard_keys(ctx);
        fs::create_directories(fs::path(ctx.dir().path()) / "dkim/not a domain");
        CHECK(init_error(ctx) == "dkim sign: " + ctx.dir().path() + "/dkim/not a domain: the directory name is not a domain name");
    }
}

TEST_CASE("dkim sign: authenticated mail is signed (rsa and ed25519) and verifies; Received is not covered") {
    FakeContext ctx;
    standard_keys(ctx);
    ctx.conn.auth_user = "joe";
    PluginHarness p(ctx, "dkim", {"sign"});
    REQUIRE_FALSE(p.init_error);
    CHECK(p.handlers(hooks::Hook::DataPost) == 1);
    for (std::size_t chunk : {std::size_t(1), std::size_t(5), kMessage.size()}) {
        CAPTURE(chunk);
        const std::string queued = deliver(ctx, p, kMessage, "joe@example.net", chunk);
        REQUIRE(ctx.txn->added_headers.size() == 1);
        CHECK(queued.rfind("Received: from client by mx.example.org\r\nDKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n d=example.net; s=rsa;", 0) == 0);
        auto r = verify(queued);
        REQUIRE(r.size() == 1);
        CHECK(r[0].verdict == io::dkim::Verdict::Pass);
        // Only the configured names: neither Received (ours or the client's) nor anything else.
        CHECK(ctx.txn->added_headers[0].find("received") == std::string::npos);
        CHECK(ctx.txn->added_headers[0].find("h=from:from:subject:date:to;") != std::string::npos);
    }
    CHECK(ctx.log_text().find("dkim: signed d=example.net s=rsa a=rsa-sha256 (From domain example.net; authenticated)") !=
          std::string::npos);

    std::string ed_message = kMessage;
    ed_message.replace(ed_message.find("joe@example.net"), 15, "joe@example.org");
    const std::string queued = deliver(ctx, p, ed_message);
    auto r = verify(queued);
    REQUIRE(r.size() == 1);
    CHECK(r[0].verdict == io::dkim::Verdict::Pass);
    CHECK(r[0].signature->algorithm == proto::dkim::Algorithm::Ed25519Sha256);
    CHECK(r[0].signature->domain == "example.org");
}

TEST_CASE("dkim sign: relay clients are signed; other sessions are verified, never signed") {
    FakeContext ctx;
    standard_keys(ctx);
    PluginHarness p(ctx, "dkim", {"sign"});
    REQUIRE_FALSE(p.init_error);
    ctx.conn.relay_client = true;
    deliver(ctx, p, kMessage);
    CHECK(ctx.txn->added_headers.size() == 1);
    CHECK(ctx.log_text().find("(From domain example.net; relay client)") != std::string::npos);

    ctx.conn.relay_client = false;
    deliver(ctx, p, kMessage);
    CHECK(ctx.txn->added_headers.empty());
    REQUIRE(ctx.txn->body_observers.size() == 1);   // the verifier's
    CHECK(std::dynamic_pointer_cast<plugins::dkim::DkimObserver>(ctx.txn->body_observers[0]) != nullptr);

    // Without `sign` an authenticated session is neither signed nor verified (immune).
    PluginHarness verify_only(ctx, "dkim");
    ctx.conn.auth_user = "joe";
    CHECK(verify_only.handlers(hooks::Hook::DataPost) == 0);
    ctx.txn.emplace();
    verify_only.call(hooks::Hook::Data);
    CHECK(ctx.txn->body_observers.empty());
}

TEST_CASE("dkim sign: the signing domain: From, its parent, an alias link, then the envelope sender") {
    FakeContext ctx;
    standard_keys(ctx);
    fs::create_directory_symlink("example.org", fs::path(ctx.dir().path()) / "dkim/alias.example");
    ctx.conn.auth_user = "joe";
    PluginHarness p(ctx, "dkim", {"sign"});
    REQUIRE_FALSE(p.init_error);
    auto signed_domain = [&](std::string from, std::string sender) -> std::string {
        std::string m = kMessage;
        m.replace(m.find("joe@example.net"), 15, from);
        auto r = verify(deliver(ctx, p, m, sender));
        if (r.empty()) return "unsigned";
        CHECK(r[0].verdict == io::dkim::Verdict::Pass);
        return r[0].signature->domain;
    };
    CHECK(signed_domain("joe@mail.example.org", "x@example.net") == "example.org");   // parent of the From domain
    CHECK(signed_domain("joe@alias.example", "x@example.net") == "example.org");      // the link's target
    CHECK(signed_domain("joe@other.example", "x@example.net") == "example.net");      // envelope sender
    CHECK(signed_domain("joe@other.example", "x@sub.example.org") == "example.org");   // its parent
    CHECK(signed_domain("joe@other.example", "x@another.example") == "unsigned");
    CHECK(ctx.log_text().find("dkim: not signed, no key for the From domain (other.example) nor the envelope "
                              "sender's (another.example)") != std::string::npos);
    CHECK(signed_domain("joe@other.example", "") == "unsigned");   // null sender
    CHECK(ctx.log_text().find("nor the envelope sender's (none)") != std::string::npos);
}

TEST_CASE("dkim sign: a message without From, or with a malformed header, is accepted unsigned") {
    FakeContext ctx;
    standard_keys(ctx);
    ctx.conn.auth_user = "joe";
    PluginHarness p(ctx, "dkim", {"sign"});
    REQUIRE_FALSE(p.init_error);
    deliver(ctx, p, "To: x@example.org\r\nSubject: no from\r\n\r\nbody\r\n");
    CHECK(ctx.txn->added_headers.empty());
    CHECK(ctx.log_text().find("dkim: not signed, message has no From (d=example.net s=rsa)") != std::string::npos);
    deliver(ctx, p, " folded first\r\nFrom: joe@example.net\r\n\r\nbody\r\n");
    CHECK(ctx.txn->added_headers.empty());
    // A message that is all header (no empty line) is signed with an empty body.
    const std::string header_only = "From: joe@example.net\r\nSubject: x\r\n";
    auto r = verify(deliver(ctx, p, header_only));
    REQUIRE(r.size() == 1);
    CHECK(r[0].verdict == io::dkim::Verdict::Pass);
}

TEST_CASE("dkim sign: a large body, hashed on the CPU thread in batches, signs and verifies") {
    FakeContext ctx;
    standard_keys(ctx);
    ctx.conn.auth_user = "joe";
    PluginHarness p(ctx, "dkim", {"sign"});
    REQUIRE_FALSE(p.init_error);
    std::string big = kMessage;
    for (int i = 0; i < 4000; ++i) big += "line " + std::to_string(i) + "  with\tWSP " + std::string(i % 70, 'q') + " \r\n";
    const std::string queued = deliver(ctx, p, big, "joe@example.net", 5000);
    auto r = verify(queued);
    REQUIRE(r.size() == 1);
    CHECK(r[0].verdict == io::dkim::Verdict::Pass);
}

}  // namespace ASMTPD_TEST_UNIT

// dovecot_imap_test.cpp - tests plugins/auth/dovecot.cpp and plugins/auth/imap.cpp: their
// arguments (qpsmtpd's HOST PORT for auth/imap), the deadlines they set, credentials refused
// without asking, and the fail mode when nothing listens (DENYSOFT, never an accept). The
// protocols are tested in t/core/client/dovecot_auth_test.cpp and t/core/proto; the real
// Dovecot in t/e2e/test_auth_dovecot.py.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "t/support/fake_context.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using hooks::Hook;
using test::FakeContext;
using test::PluginHarness;
using test::result_name;
using namespace std::string_literals;

namespace {
hooks::HookArgs creds(std::string mech, std::string user, std::string secret) {
    return hooks::AuthArgs{std::move(mech), std::move(user), std::move(secret), {}};
}
}  // namespace

TEST_CASE("auth/dovecot: arguments") {
    FakeContext ctx;
    PluginHarness a(ctx, "auth/dovecot");
    CHECK(!a.init_error);
    CHECK(a.plugin().timeout() == std::chrono::milliseconds(12000));
    CHECK(a.handlers(Hook::AuthPlain) == 1);
    CHECK(a.handlers(Hook::AuthLogin) == 1);
    CHECK(a.handlers(Hook::AuthCramMd5) == 0);
    PluginHarness b(ctx, "auth/dovecot", {"127.0.0.1:12345", "timeout", "1.5", "service", "submission"});
    CHECK(!b.init_error);
    CHECK(b.plugin().timeout() == std::chrono::milliseconds(3500));
    PluginHarness c(ctx, "auth/dovecot", {"timeout", "2"});
    CHECK(!c.init_error);
    const std::vector<std::vector<std::string>> bad = {
        {"127.0.0.1"},                   // no port
        {"auth.example.test:12345"},     // a name: no DNS here
        {"relative/auth"},
        {"timeout", "0"},
        {"timeout", "soon"},
        {"/run/auth", "wait", "2"},
        {"service", "a b"},
    };
    for (std::size_t i = 0; i < bad.size(); ++i) {
        CAPTURE(i);
        PluginHarness p(ctx, "auth/dovecot", bad[i]);
        CHECK(p.init_error.has_value());
    }
}

TEST_CASE("auth/imap: arguments as qpsmtpd's auth_imap takes them") {
    FakeContext ctx;
    PluginHarness a(ctx, "auth/imap");
    CHECK(!a.init_error);
    CHECK(a.plugin().timeout() == std::chrono::milliseconds(12000));
    CHECK(a.handlers(Hook::AuthPlain) == 1);
    CHECK(a.handlers(Hook::AuthLogin) == 1);
    CHECK(!PluginHarness(ctx, "auth/imap", {"192.0.2.1", "143"}).init_error);
    CHECK(!PluginHarness(ctx, "auth/imap", {"localhost"}).init_error);
    CHECK(!PluginHarness(ctx, "auth/imap", {"127.0.0.1:1143", "timeout", "3"}).init_error);
    CHECK(!PluginHarness(ctx, "auth/imap", {"timeout", "3"}).init_error);
    CHECK(!PluginHarness(ctx, "auth/imap", {"127.0.0.1", "993"}).init_error);   // imaps
    CHECK(!PluginHarness(ctx, "auth/imap", {"127.0.0.1", "1993", "tls", "yes", "tls_verify", "no"}).init_error);
    CHECK(!PluginHarness(ctx, "auth/imap", {"tls", "yes", "tls_name", "imap.example.test"}).init_error);
    const std::vector<std::vector<std::string>> bad = {
        {"127.0.0.1", "993", "tls", "maybe"},
        {"127.0.0.1", "993", "tls_verify", "sometimes"},
        {"127.0.0.1", "143", "ca_file", "/etc/ssl/certs/ca-certificates.crt"},   // needs tls
        {"127.0.0.1", "143", "tls_verify", "no"},
        {"127.0.0.1", "993", "ca_file", "/nonexistent/ca.pem"},
        {"127.0.0.1", "0"},
        {"127.0.0.1", "70000"},
        {"127.0.0.1", "x"},
        {"imap.example.test"},           // a name: no DNS here
        {"/run/imap"},
        {"127.0.0.1:1143", "143"},
        {"127.0.0.1", "143", "timeout", "0"},
        {"127.0.0.1", "143", "extra"},
    };
    for (std::size_t i = 0; i < bad.size(); ++i) {
        CAPTURE(i);
        PluginHarness p(ctx, "auth/imap", bad[i]);
        CHECK(p.init_error.has_value());
    }
    PluginHarness no_ca(ctx, "auth/imap", {"127.0.0.1", "993", "ca_file", "/nonexistent/ca.pem"});
    REQUIRE(no_ca.init_error);
    CHECK(no_ca.init_error->find("/nonexistent/ca.pem") != std::string::npos);
}

TEST_CASE("auth/dovecot and auth/imap: credentials refused without asking; nobody listening is temporary") {
    FakeContext ctx;
    PluginHarness dv(ctx, "auth/dovecot", {"/nonexistent/asmtpd-test/auth", "timeout", "1"});
    REQUIRE(!dv.init_error);
    CHECK(result_name(dv.call(Hook::AuthPlain, creds("PLAIN", "alice", ""))) == "DENY"s);
    CHECK(result_name(dv.call(Hook::AuthPlain, creds("PLAIN", "al\0ice"s, "pw"))) == "DENY"s);
    CHECK(result_name(dv.call(Hook::AuthLogin, creds("LOGIN", "alice", "secret-pw"))) == "DENYSOFT"s);

    PluginHarness im(ctx, "auth/imap", {"127.0.0.1", "1", "timeout", "1"});
    REQUIRE(!im.init_error);
    CHECK(result_name(im.call(Hook::AuthLogin, creds("LOGIN", "alice", "pw\r\na2 LOGOUT"))) == "DECLINED"s);
    CHECK(result_name(im.call(Hook::AuthPlain, creds("PLAIN", "alice", "secret-pw"))) == "DENYSOFT"s);

    const std::string log = ctx.log_text();
    CHECK(log.find("auth/dovecot: LOGIN temporary failure for 'alice': unix:/nonexistent/asmtpd-test/auth") !=
          std::string::npos);
    CHECK(log.find("auth/imap: PLAIN temporary failure for 'alice': 127.0.0.1:1") != std::string::npos);
    CHECK(log.find("secret-pw") == std::string::npos);
}

}  // namespace ASMTPD_TEST_UNIT

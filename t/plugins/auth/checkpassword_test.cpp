// checkpassword_test.cpp - tests plugins/auth/checkpassword.cpp against t/fixtures/checkpassword.sh
// (a real program obeying the checkpassword interface): the exact descriptor-3 bytes for PLAIN,
// LOGIN and CRAM-MD5, every class of exit status, a crash, a hang past the timeout, a program
// that vanished after start-up, the child's environment and argv, credentials that cannot be
// framed, and a session that ends before the program does.
#include <doctest/doctest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "t/support/fake_context.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using hooks::Hook;
using hooks::Result;
using test::FakeContext;
using test::PluginHarness;
using test::read_file;
using test::result_name;
using namespace std::string_literals;

namespace {

std::string repo_root() {
    // __FILE__ is t/plugins/auth/checkpassword_test.cpp under the source tree.
    return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path().parent_path().string();
}
std::string fixture() { return repo_root() + "/t/fixtures/checkpassword.sh"; }

const std::string kChallenge = "<1896.697170952@postoffice.reston.mci.net>";
const std::string kDigest = "b913a602c7eda7a495b4e6e7334d3890";

hooks::HookArgs creds(std::string mech, std::string user, std::string secret, std::string ticket = {}) {
    return hooks::AuthArgs{std::move(mech), std::move(user), std::move(secret), std::move(ticket)};
}
std::optional<hooks::Verdict> plain(PluginHarness& p, std::string user, std::string pw) {
    return p.call(Hook::AuthPlain, creds("PLAIN", std::move(user), std::move(pw)));
}
std::optional<hooks::Verdict> login(PluginHarness& p, std::string user, std::string pw) {
    return p.call(Hook::AuthLogin, creds("LOGIN", std::move(user), std::move(pw)));
}
std::optional<hooks::Verdict> cram(PluginHarness& p, std::string user, std::string digest,
                                   std::string challenge = kChallenge) {
    return p.call(Hook::AuthCramMd5, creds("CRAM-MD5", std::move(user), std::move(digest), std::move(challenge)));
}

}  // namespace

TEST_CASE("auth/checkpassword: arguments") {
    FakeContext ctx;
    SUBCASE("accepted forms; the deadline follows the timeout") {
        PluginHarness a(ctx, "auth/checkpassword", {fixture()});
        CHECK(!a.init_error);
        CHECK(a.plugin().timeout() == ctx.facts.plugin_timeout + std::chrono::milliseconds(4000));
        CHECK(a.handlers(Hook::AuthPlain) == 1);
        CHECK(a.handlers(Hook::AuthLogin) == 1);
        CHECK(a.handlers(Hook::AuthCramMd5) == 1);
        PluginHarness b(ctx, "auth/checkpassword", {"timeout", "2.5", "env", "A=1", fixture(), "/bin/true"});
        CHECK(!b.init_error);
        CHECK(b.plugin().timeout() == std::chrono::milliseconds(6500));
        // After PROGRAM every word is the program's own, "timeout" included.
        PluginHarness c(ctx, "auth/checkpassword", {fixture(), "timeout", "x"});
        CHECK(!c.init_error);
    }
    SUBCASE("refused forms") {
        const std::vector<std::vector<std::string>> bad = {
            {},
            {"timeout", "5"},
            {"timeout"},
            {"timeout", "0", fixture()},
            {"timeout", "-1", fixture()},
            {"timeout", "soon", fixture()},
            {"env", "NOEQUALS", fixture()},
            {"env", "1BAD=x", fixture()},
            {"env", "=x", fixture()},
            {"checkpassword"},                          // no PATH search
            {"/nonexistent/checkpassword", "/bin/true"},
            {repo_root() + "/t/fixtures"},              // X_OK holds for a directory too
        };
        for (std::size_t i = 0; i < bad.size(); ++i) {
            CAPTURE(i);
            PluginHarness p(ctx, "auth/checkpassword", bad[i]);
            CHECK(p.init_error.has_value());
        }
        PluginHarness np(ctx, "auth/checkpassword", {"/nonexistent/checkpassword"});
        REQUIRE(np.init_error.has_value());
        CHECK(np.init_error->find("not executable") != std::string::npos);
    }
}

TEST_CASE("auth/checkpassword: PLAIN and LOGIN, with the exact bytes on descriptor 3") {
    FakeContext ctx;
    const std::string dump = ctx.dir() / "dump";
    PluginHarness p(ctx, "auth/checkpassword", {"env", "CHECKPW_DUMP=" + dump, fixture(), "/bin/true"});
    REQUIRE_MESSAGE(!p.init_error, p.init_error.value_or(""));

    auto v = plain(p, "alice", "wonderland");
    CHECK(result_name(v) == "OK"s);
    CHECK(read_file(dump + ".fd3") == "alice\0wonderland\0\0"s);
    CHECK(read_file(dump + ".args") == "/bin/true\n");
    CHECK(result_name(login(p, "alice", "wonderland")) == "OK"s);

    v = login(p, "alice", "Wonderland");
    CHECK(result_name(v) == "DENY"s);
    CHECK(test::text_of(v).empty());   // the defaults' 535 text: nothing about why
    CHECK(read_file(dump + ".fd3") == "alice\0Wonderland\0\0"s);
    CHECK(result_name(plain(p, "bob", "wonderland")) == "DENY"s);

    const std::string log = ctx.log_text();
    CHECK(log.find("PLAIN accepted for 'alice'") != std::string::npos);
    CHECK(log.find("LOGIN refused for 'alice'") != std::string::npos);
    CHECK(log.find("wonderland") == std::string::npos);   // passwords are never logged
}

TEST_CASE("auth/checkpassword: CRAM-MD5 as qmail's AUTH patches pass it") {
    FakeContext ctx;
    const std::string dump = ctx.dir() / "dump";
    PluginHarness p(ctx, "auth/checkpassword", {"env", "CHECKPW_DUMP=" + dump, fixture(), "/bin/true"});
    REQUIRE(!p.init_error);
    CHECK(result_name(cram(p, "tim", kDigest)) == "OK"s);
    CHECK(read_file(dump + ".fd3") == "tim\0"s + kDigest + "\0"s + kChallenge + "\0"s);
    CHECK(result_name(cram(p, "tim", "b913a602c7eda7a495b4e6e7334d3891")) == "DENY"s);
    CHECK(result_name(cram(p, "tim", kDigest, "<1.2@elsewhere>")) == "DENY"s);

    // Without a challenge the digest would be checked as a password: refused before any spawn.
    std::filesystem::remove(dump + ".fd3");
    CHECK(result_name(cram(p, "alice", "wonderland", "")) == "DENY"s);
    CHECK(!std::filesystem::exists(dump + ".fd3"));
}

TEST_CASE("auth/checkpassword: exit statuses, signals and the next program") {
    FakeContext ctx;
    PluginHarness p(ctx, "auth/checkpassword", {fixture(), "/bin/true"});
    REQUIRE(!p.init_error);
    struct Case {
        const char* user;
        Result result;
        const char* log;
    };
    for (const auto& c : {Case{"tempfail", Result::DenySoft, "exit 111: temporary failure"},
                          Case{"misuse", Result::DenySoft, "exit 2: the program says it was misused"},
                          Case{"weird", Result::DenySoft, "unexpected exit 7"},
                          Case{"crash", Result::DenySoft, "killed by signal 9"},
                          Case{"noisy", Result::Deny, "stderr: second complaint"},
                          Case{"mallory", Result::Deny, "PLAIN refused for 'mallory'"}}) {
        CAPTURE(c.user);
        auto v = plain(p, c.user, "pw");
        REQUIRE(v.has_value());
        CHECK(v->result == c.result);
        CHECK(test::text_of(v).empty());   // 454 / 535 from the defaults table
        CHECK_MESSAGE(ctx.log_text().find(c.log) != std::string::npos, ctx.log_text());
    }
    CHECK(ctx.log_text().find("stderr: first complaint") != std::string::npos);

    // The next program's status is checkpassword's: /bin/false turns a good password into 1.
    PluginHarness f(ctx, "auth/checkpassword", {fixture(), "/bin/false"});
    REQUIRE(!f.init_error);
    CHECK(result_name(plain(f, "alice", "wonderland")) == "DENY"s);
    // With no ARG, /bin/true is passed (the fixture, like DJB's, exits 2 without one).
    PluginHarness d(ctx, "auth/checkpassword", {fixture()});
    REQUIRE(!d.init_error);
    CHECK(result_name(plain(d, "alice", "wonderland")) == "OK"s);
}

TEST_CASE("auth/checkpassword: a hung program is killed at the timeout") {
    using Clock = std::chrono::steady_clock;
    FakeContext ctx;
    PluginHarness p(ctx, "auth/checkpassword", {"timeout", "0.3", fixture(), "/bin/true"});
    REQUIRE(!p.init_error);
    auto t0 = Clock::now();
    auto v = plain(p, "hang", "pw");
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
    CHECK(result_name(v) == "DENYSOFT"s);
    CHECK(ms >= 250);
    CHECK(ms < 5000);   // the 30 s sleep was cut short
    CHECK(ctx.log_text().find("timed out") != std::string::npos);
}

TEST_CASE("auth/checkpassword: a program that vanished after start-up gives DENYSOFT") {
    FakeContext ctx;
    const std::string copy = ctx.dir() / "checkpw";
    std::filesystem::copy_file(fixture(), copy);
    std::filesystem::permissions(copy, std::filesystem::perms::owner_all);
    PluginHarness p(ctx, "auth/checkpassword", {copy, "/bin/true"});
    REQUIRE(!p.init_error);
    CHECK(result_name(plain(p, "alice", "wonderland")) == "OK"s);
    std::filesystem::remove(copy);
    CHECK(result_name(plain(p, "alice", "wonderland")) == "DENYSOFT"s);
    CHECK(ctx.log_text().find("cannot run") != std::string::npos);
}

TEST_CASE("auth/checkpassword: an explicit environment, never the server's") {
    ::setenv("ASMTPD_TEST_SERVER_SECRET", "leak", 1);
    FakeContext ctx;
    ctx.conn.remote_host = "client.example.net";
    ctx.conn.env["GREYLIST"] = "1";
    ctx.conn.env["bad-name"] = "x";
    const std::string dump = ctx.dir() / "dump";
    PluginHarness p(ctx, "auth/checkpassword",
                    {"env", "CHECKPW_DUMP=" + dump, "env", "EXTRA=yes", fixture(), "/bin/true"});
    REQUIRE(!p.init_error);
    CHECK(result_name(plain(p, "alice", "wonderland")) == "OK"s);
    const std::string env = read_file(dump + ".env");
    for (const char* want : {"PATH=/usr/local/bin:/usr/bin:/bin\n", "PROTO=TCP\n", "TCPREMOTEIP=192.0.2.10\n",
                             "TCPREMOTEPORT=40000\n", "TCPLOCALIP=192.0.2.1\n", "TCPLOCALPORT=25\n",
                             "TCPREMOTEHOST=client.example.net\n", "GREYLIST=1\n", "EXTRA=yes\n"}) {
        CAPTURE(want);
        CHECK(env.find(want) != std::string::npos);
    }
    CHECK(env.find("ASMTPD_TEST_SERVER_SECRET") == std::string::npos);
    CHECK(env.find("bad-name") == std::string::npos);
    CHECK(env.find("wonderland") == std::string::npos);   // the password is on fd 3 only
    ::unsetenv("ASMTPD_TEST_SERVER_SECRET");
}

TEST_CASE("auth/checkpassword: credentials that cannot be framed are refused without a spawn") {
    FakeContext ctx;
    const std::string dump = ctx.dir() / "dump";
    PluginHarness p(ctx, "auth/checkpassword", {"env", "CHECKPW_DUMP=" + dump, fixture(), "/bin/true"});
    REQUIRE(!p.init_error);
    // 512 bytes in all is the interface's limit: exactly that still runs the program.
    const std::string fits(512 - 3 - 5, 'x');
    CHECK(result_name(plain(p, "alice", fits)) == "DENY"s);
    CHECK(std::filesystem::exists(dump + ".fd3"));
    std::filesystem::remove(dump + ".fd3");
    for (const auto& [user, pw] : std::vector<std::pair<std::string, std::string>>{
             {"alice", fits + "x"},                   // 513 bytes
             {"alice", "wonderland\0\0forged"s},      // a NUL would shift the fields
             {"alice\0tim"s, "wonderland"},
             {"alice", ""},
             {"", "wonderland"}}) {
        CAPTURE(user);
        CHECK(result_name(login(p, user, pw)) == "DENY"s);
        CHECK(!std::filesystem::exists(dump + ".fd3"));
    }
    CHECK(ctx.log_text().find("cannot be passed on") != std::string::npos);
}

TEST_CASE("auth/checkpassword: a session that ends first drops the late answer") {
    FakeContext ctx;
    PluginHarness p(ctx, "auth/checkpassword", {"timeout", "0.3", fixture(), "/bin/true"});
    REQUIRE(!p.init_error);
    auto sink = p.start(Hook::AuthPlain, creds("PLAIN", "hang", "pw"));
    auto ok = p.start(Hook::AuthLogin, creds("LOGIN", "alice", "wonderland"));
    sink.reset();
    ctx.end_session();
    ctx.run();
    REQUIRE(ok->verdict);
    CHECK(ok->verdict->result == Result::Ok);
    CHECK(ok->resolves == 1);
}

}  // namespace ASMTPD_TEST_UNIT

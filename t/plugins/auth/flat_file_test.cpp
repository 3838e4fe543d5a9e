// flat_file_test.cpp - tests plugins/auth/flat_file.cpp with real crypt(3) hashes made here
// (yescrypt and sha512-crypt through libxcrypt): right and wrong passwords, unknown users, "*"
// and "!" accounts, NUL and overlong passwords, CRAM-MD5 with RFC 2195's vector, every kind
// of bad line (with its line number), the pool limit, a session that gives up, and timing:
// an unknown user must cost about what a known one costs.
#include <doctest/doctest.h>
#include <crypt.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "t/support/fake_context.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using hooks::Hook;
using hooks::Result;
using test::FakeContext;
using test::PluginHarness;
using test::result_name;
using namespace std::string_literals;

namespace {

// A fresh crypt(3) hash of password with the method's default cost.
std::string make_hash(const char* prefix, const std::string& password) {
    char setting[CRYPT_GENSALT_OUTPUT_SIZE];
    REQUIRE(crypt_gensalt_rn(prefix, 0, nullptr, 0, setting, sizeof setting) != nullptr);
    auto data = std::make_unique<crypt_data>();
    const char* out = crypt_rn(password.c_str(), setting, data.get(), sizeof(crypt_data));
    REQUIRE(out != nullptr);
    std::string h = out;
    REQUIRE(h.rfind(prefix, 0) == 0);
    return h;
}

hooks::HookArgs creds(std::string mech, std::string user, std::string secret, std::string ticket = {}) {
    return hooks::AuthArgs{std::move(mech), std::move(user), std::move(secret), std::move(ticket)};
}

std::optional<hooks::Verdict> plain(PluginHarness& p, std::string user, std::string pw) {
    return p.call(Hook::AuthPlain, creds("PLAIN", std::move(user), std::move(pw)));
}
std::optional<hooks::Verdict> login(PluginHarness& p, std::string user, std::string pw) {
    return p.call(Hook::AuthLogin, creds("LOGIN", std::move(user), std::move(pw)));
}

const std::string kChallenge = "<1896.697170952@postoffice.reston.mci.net>";
const std::string kDigest = "b913a602c7eda7a495b4e6e7334d3890";

std::optional<hooks::Verdict> cram(PluginHarness& p, std::string user, std::string digest,
                                   std::string challenge = kChallenge) {
    return p.call(Hook::AuthCramMd5, creds("CRAM-MD5", std::move(user), std::move(digest), std::move(challenge)));
}

// Hashes are slow to make; the suites share these.
struct Hashes {
    std::string yes_right = make_hash("$y$", "correct horse");
    std::string sha_right = make_hash("$6$", "battery staple");
    std::string lockable = make_hash("$6$", "locked out");
};
const Hashes& hashes() {
    static const Hashes h;
    return h;
}

std::string users_file() {
    const auto& h = hashes();
    return "# asmtpd users\n"
           "\n"
           "yuki:" + h.yes_right + "\n"
           "   # indented comment\n"
           "sam:" + h.sha_right + "\r\n"
           "tim:*:tanstaaftanstaaf\n"
           "both:" + h.sha_right + ":tanstaaftanstaaf  \n"
           "gone:!" + h.lockable + ":tanstaaftanstaaf\n"
           "colon:" + h.sha_right + ":a:b:c\n"
           "nocram:" + h.sha_right + ":\n";
}

}  // namespace

TEST_CASE("auth/flat_file: registers PLAIN, LOGIN and CRAM-MD5 and reads DIR/flat_auth_pw by default") {
    FakeContext ctx;
    ctx.write_config("flat_auth_pw", users_file());
    PluginHarness p(ctx, "auth/flat_file");
    REQUIRE_MESSAGE(!p.init_error, p.init_error.value_or(""));
    CHECK(p.handlers(Hook::AuthPlain) == 1);
    CHECK(p.handlers(Hook::AuthLogin) == 1);
    CHECK(p.handlers(Hook::AuthCramMd5) == 1);
    CHECK(p.handlers(Hook::Auth) == 0);
}

TEST_CASE("auth/flat_file: PLAIN and LOGIN against yescrypt and sha512-crypt") {
    FakeContext ctx;
    ctx.write_config("flat_auth_pw", users_file());
    PluginHarness p(ctx, "auth/flat_file");
    REQUIRE_MESSAGE(!p.init_error, p.init_error.value_or(""));

    auto v = plain(p, "yuki", "correct horse");
    CHECK(result_name(v) == "OK"s);
    CHECK(test::text_of(v).empty());   // the defaults' 235 text
    CHECK(result_name(login(p, "yuki", "correct horse")) == "OK"s);
    CHECK(result_name(plain(p, "sam", "battery staple")) == "OK"s);
    CHECK(result_name(login(p, "sam", "battery staple")) == "OK"s);
    CHECK(result_name(plain(p, "colon", "battery staple")) == "OK"s);   // ':' in the CRAM field is fine

    // Wrong passwords, near misses and case: a definite DENY with the default text.
    v = plain(p, "yuki", "correct horse ");
    CHECK(result_name(v) == "DENY"s);
    CHECK(test::text_of(v).empty());
    CHECK(result_name(plain(p, "yuki", "Correct horse")) == "DENY"s);
    CHECK(result_name(plain(p, "yuki", "")) == "DENY"s);
    CHECK(result_name(login(p, "sam", "battery stapl")) == "DENY"s);
    // The password of another user is no good either.
    CHECK(result_name(plain(p, "sam", "correct horse")) == "DENY"s);

    // User names match exactly.
    CHECK(result_name(plain(p, "Yuki", "correct horse")) == "DECLINED"s);
    CHECK(result_name(plain(p, "yuki ", "correct horse")) == "DECLINED"s);
    // Unknown user: DECLINED, so a later auth plugin may know it (the default is still 535).
    CHECK(result_name(plain(p, "nobody", "correct horse")) == "DECLINED"s);
    CHECK(result_name(login(p, "", "x")) == "DECLINED"s);

    const std::string log = ctx.log_text();
    CHECK(log.find("PLAIN accepted for 'yuki'") != std::string::npos);
    CHECK(log.find("wrong password for 'sam'") != std::string::npos);
    CHECK(log.find("unknown user 'nobody'") != std::string::npos);
    CHECK(log.find("correct horse") == std::string::npos);   // passwords are never logged
    CHECK(log.find("battery") == std::string::npos);
}

TEST_CASE("auth/flat_file: a NUL or an overlong password never passes, even when its prefix is right") {
    const std::string long_pw(511, 'p');   // libxcrypt's longest passphrase
    FakeContext ctx;
    ctx.write_config("flat_auth_pw", "nul:" + make_hash("$6$", "right") + "\nlong:" + make_hash("$6$", long_pw) + "\n");
    PluginHarness p(ctx, "auth/flat_file");
    REQUIRE_MESSAGE(!p.init_error, p.init_error.value_or(""));
    CHECK(result_name(plain(p, "nul", "right")) == "OK"s);
    // crypt(3) stops at the NUL and would see "right".
    CHECK(result_name(login(p, "nul", "right\0anything"s)) == "DENY"s);
    CHECK(result_name(login(p, "nul", "right\0"s)) == "DENY"s);
    CHECK(result_name(plain(p, "long", long_pw)) == "OK"s);
    // The first 511 bytes are right; the check would see only those.
    CHECK(result_name(plain(p, "long", long_pw + "p")) == "DENY"s);
    CHECK(result_name(plain(p, "long", long_pw + std::string(20000, 'x'))) == "DENY"s);
}

TEST_CASE("auth/flat_file: '*' is CRAM-MD5 only, '!' disables the account") {
    FakeContext ctx;
    ctx.write_config("flat_auth_pw", users_file());
    PluginHarness p(ctx, "auth/flat_file");
    REQUIRE_MESSAGE(!p.init_error, p.init_error.value_or(""));
    CHECK(result_name(plain(p, "tim", "*")) == "DENY"s);
    CHECK(result_name(plain(p, "tim", "tanstaaftanstaaf")) == "DENY"s);
    CHECK(result_name(cram(p, "tim", kDigest)) == "OK"s);
    // "gone" has the right hash behind the '!': still refused, for every mechanism.
    CHECK(result_name(plain(p, "gone", "locked out")) == "DENY"s);
    CHECK(result_name(login(p, "gone", "locked out")) == "DENY"s);
    CHECK(result_name(cram(p, "gone", kDigest)) == "DENY"s);
}

TEST_CASE("auth/flat_file: CRAM-MD5 with RFC 2195's example") {
    FakeContext ctx;
    ctx.write_config("flat_auth_pw", users_file());
    PluginHarness p(ctx, "auth/flat_file");
    REQUIRE_MESSAGE(!p.init_error, p.init_error.value_or(""));

    CHECK(result_name(cram(p, "tim", kDigest)) == "OK"s);
    CHECK(result_name(cram(p, "tim", "B913A602C7EDA7A495B4E6E7334D3890")) == "OK"s);   // hex in either case
    CHECK(result_name(cram(p, "both", kDigest)) == "OK"s);   // trailing blanks are not part of the secret
    // One flipped digit, a truncated digest, a different challenge, an empty challenge.
    CHECK(result_name(cram(p, "tim", "b913a602c7eda7a495b4e6e7334d3891")) == "DENY"s);
    CHECK(result_name(cram(p, "tim", kDigest.substr(0, 31))) == "DENY"s);
    CHECK(result_name(cram(p, "tim", kDigest + "0")) == "DENY"s);
    CHECK(result_name(cram(p, "tim", kDigest, "<1896.697170953@postoffice.reston.mci.net>")) == "DENY"s);
    CHECK(result_name(cram(p, "tim", kDigest, "")) == "DENY"s);
    CHECK(result_name(cram(p, "tim", "")) == "DENY"s);
    // No secret for the user (none, or an empty third field), or no such user: another plugin may know.
    CHECK(result_name(cram(p, "sam", kDigest)) == "DECLINED"s);
    CHECK(result_name(cram(p, "nocram", kDigest)) == "DECLINED"s);
    CHECK(result_name(cram(p, "nobody", kDigest)) == "DECLINED"s);
    // The CRAM secret is not a password.
    CHECK(result_name(plain(p, "both", "tanstaaftanstaaf")) == "DENY"s);
    CHECK(ctx.log_text().find("tanstaaf") == std::string::npos);
}

TEST_CASE("auth/flat_file: bad lines fail the load, naming file and line") {
    const std::string good = "ok:" + hashes().sha_right + "\n";
    struct Case {
        std::string content;
        std::string expect;
    };
    const std::vector<Case> cases = {
        {"# c\n\n" + good + "nocolon\n", "flat_auth_pw:4: expected user:hash"},
        {good + ":" + hashes().sha_right + "\n", "flat_auth_pw:2: bad user name"},
        {good + "two words:" + hashes().sha_right + "\n", "flat_auth_pw:2: bad user name"},
        {good + "  indented:" + hashes().sha_right + "\n", "flat_auth_pw:2: bad user name"},
        {"ctl\x01:" + hashes().sha_right + "\n", "flat_auth_pw:1: bad user name"},
        {good + "empty:\n", "flat_auth_pw:2: user 'empty': empty hash"},
        {good + "empty::secret\n", "flat_auth_pw:2: user 'empty': empty hash"},
        {"des:abJnggxhB/yWI\n", "flat_auth_pw:1: user 'des': DES or unknown hash"},
        {"plain:secret\n", "flat_auth_pw:1: user 'plain': DES or unknown hash"},
        {"junk:$junk$abc$def\n", "flat_auth_pw:1: user 'junk': not a hash libxcrypt understands"},
        {"sp:$6$ab cd$ef\n", "flat_auth_pw:1: user 'sp': white space or a control byte"},
        {"c:" + hashes().sha_right + ":sec\x7fret\n", "flat_auth_pw:1: control byte in the CRAM-MD5 secret"},
        {"\n" + good + "# x\n" + good, "flat_auth_pw:4: user 'ok' already defined on line 2"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.content);
        FakeContext ctx;
        ctx.write_config("flat_auth_pw", c.content);
        PluginHarness p(ctx, "auth/flat_file");
        REQUIRE(p.init_error.has_value());
        CHECK_MESSAGE(p.init_error->find(c.expect) != std::string::npos, *p.init_error);
        CHECK(p.init_error->find(ctx.dir() / "flat_auth_pw") == 0);   // the full path leads
    }
}

TEST_CASE("auth/flat_file: arguments, missing and unsafe files") {
    FakeContext ctx;
    SUBCASE("missing default file") {
        PluginHarness p(ctx, "auth/flat_file");
        REQUIRE(p.init_error.has_value());
        CHECK(p.init_error->find("cannot read " + (ctx.dir() / "flat_auth_pw")) != std::string::npos);
    }
    SUBCASE("relative and absolute paths") {
        ctx.write_config("users", "ok:" + hashes().sha_right + "\n");
        PluginHarness rel(ctx, "auth/flat_file", {"users"});
        CHECK(!rel.init_error);
        PluginHarness abs(ctx, "auth/flat_file", {ctx.dir() / "users", "parallel", "3"});
        CHECK(!abs.init_error);
        CHECK(result_name(plain(abs, "ok", "battery staple")) == "OK"s);
    }
    SUBCASE("an empty file is allowed: every user is unknown") {
        ctx.write_config("flat_auth_pw", "# nobody yet\n");
        PluginHarness p(ctx, "auth/flat_file");
        REQUIRE(!p.init_error);
        CHECK(result_name(plain(p, "anyone", "x")) == "DECLINED"s);
        CHECK(result_name(cram(p, "anyone", kDigest)) == "DECLINED"s);
    }
    SUBCASE("world-writable file") {
        ctx.write_config("flat_auth_pw", "ok:" + hashes().sha_right + "\n");
        REQUIRE(::chmod((ctx.dir() / "flat_auth_pw").c_str(), 0666) == 0);
        PluginHarness p(ctx, "auth/flat_file");
        REQUIRE(p.init_error.has_value());
        CHECK(p.init_error->find("world-writable") != std::string::npos);
    }
    SUBCASE("a file others can read loads, with a warning; a private one has none") {
        ctx.write_config("flat_auth_pw", "ok:" + hashes().sha_right + "\n");
        REQUIRE(::chmod((ctx.dir() / "flat_auth_pw").c_str(), 0644) == 0);
        PluginHarness p(ctx, "auth/flat_file");
        REQUIRE(!p.init_error);
        auto warnings = p.plugin().init_warnings();
        REQUIRE(warnings.size() == 1);
        CHECK(warnings[0].find("readable by other users") != std::string::npos);
        REQUIRE(::chmod((ctx.dir() / "flat_auth_pw").c_str(), 0640) == 0);
        PluginHarness q(ctx, "auth/flat_file");
        REQUIRE(!q.init_error);
        CHECK(q.plugin().init_warnings().empty());
    }
    SUBCASE("bad arguments") {
        ctx.write_config("flat_auth_pw", "ok:" + hashes().sha_right + "\n");
        for (const auto& args : std::vector<std::vector<std::string>>{
                 {"parallel"}, {"parallel", "0"}, {"parallel", "65"}, {"parallel", "x"}, {"a", "b"}, {""}}) {
            PluginHarness p(ctx, "auth/flat_file", args);
            CHECK(p.init_error.has_value());
        }
    }
}

TEST_CASE("auth/flat_file: the file is read at init; a reload (a new instance) sees the change") {
    FakeContext ctx;
    ctx.write_config("flat_auth_pw", "ok:" + hashes().sha_right + "\n");
    PluginHarness before(ctx, "auth/flat_file");
    REQUIRE(!before.init_error);
    ctx.write_config("flat_auth_pw", "new:" + hashes().sha_right + "\n");
    CHECK(result_name(plain(before, "ok", "battery staple")) == "OK"s);
    CHECK(result_name(plain(before, "new", "battery staple")) == "DECLINED"s);
    PluginHarness after(ctx, "auth/flat_file");
    REQUIRE(!after.init_error);
    CHECK(result_name(plain(after, "ok", "battery staple")) == "DECLINED"s);
    CHECK(result_name(plain(after, "new", "battery staple")) == "OK"s);
}

TEST_CASE("auth/flat_file: checks wait for a pool slot; a check nobody waits for any more is skipped") {
    FakeContext ctx;
    std::string file;
    for (int i = 0; i < 4; ++i) file += "u" + std::to_string(i) + ":" + hashes().sha_right + "\n";
    ctx.write_config("flat_auth_pw", file);
    PluginHarness p(ctx, "auth/flat_file", {"parallel", "1"});
    REQUIRE(!p.init_error);

    auto a = p.start(Hook::AuthPlain, creds("PLAIN", "u0", "battery staple"));
    auto b = p.start(Hook::AuthPlain, creds("PLAIN", "u1", "wrong"));
    auto gone = p.start(Hook::AuthPlain, creds("PLAIN", "u2", "wrong"));
    auto d = p.start(Hook::AuthLogin, creds("LOGIN", "u3", "battery staple"));
    CHECK(!a->verdict);   // never answered from inside the handler: the pool does the work
    gone.reset();         // its session went away while it waited
    ctx.run();
    REQUIRE(a->verdict);
    REQUIRE(b->verdict);
    REQUIRE(d->verdict);
    CHECK(a->verdict->result == Result::Ok);
    CHECK(b->verdict->result == Result::Deny);
    CHECK(d->verdict->result == Result::Ok);
    const std::string log = ctx.log_text();
    CHECK(log.find("wrong password for 'u1'") != std::string::npos);
    CHECK(log.find("'u2'") == std::string::npos);   // skipped, not checked
}

TEST_CASE("auth/flat_file: a session that ends mid-check gets no answer and nothing breaks") {
    FakeContext ctx;
    ctx.write_config("flat_auth_pw", "ok:" + hashes().yes_right + "\n");
    PluginHarness p(ctx, "auth/flat_file");
    REQUIRE(!p.init_error);
    auto sink = p.start(Hook::AuthPlain, creds("PLAIN", "ok", "correct horse"));
    std::weak_ptr<test::VerdictSink> weak = sink;
    sink.reset();
    ctx.end_session();
    ctx.run();
    CHECK(weak.expired());
    CHECK(ctx.log_text().find("PLAIN accepted for 'ok'") != std::string::npos);   // the check still ran
}

TEST_CASE("auth/flat_file: an unknown user costs about what a known one costs") {
    // The smallest of several interleaved runs is compared: load on the machine only ever adds
    // time, so minima are stable. yescrypt's default cost is tens of ms: far above the noise.
    using Clock = std::chrono::steady_clock;
    FakeContext ctx;
    ctx.write_config("flat_auth_pw", "star:*:secret\nyuki:" + hashes().yes_right + "\n");
    PluginHarness p(ctx, "auth/flat_file");
    REQUIRE(!p.init_error);
    auto time_of = [&](const std::string& user) {
        auto t0 = Clock::now();
        auto v = plain(p, user, "not the password");
        auto t1 = Clock::now();
        REQUIRE(v.has_value());
        return std::chrono::duration<double, std::milli>(t1 - t0).count();
    };
    double known = 1e9, unknown = 1e9, locked = 1e9;
    for (int i = 0; i < 5; ++i) {
        known = std::min(known, time_of("yuki"));
        unknown = std::min(unknown, time_of("nobody-" + std::to_string(i)));
        locked = std::min(locked, time_of("star"));
    }
    CAPTURE(known);
    CAPTURE(unknown);
    CAPTURE(locked);
    CHECK(known > 2.0);   // yescrypt really ran
    CHECK(unknown > 0.5 * known);
    CHECK(known > 0.5 * unknown);
    CHECK(locked > 0.5 * known);
    CHECK(known > 0.5 * locked);
}

TEST_CASE("auth/flat_file: with no real hash in the file an unknown user still costs a yescrypt check") {
    using Clock = std::chrono::steady_clock;
    FakeContext ctx;
    ctx.write_config("flat_auth_pw", "star:*:secret\n");
    PluginHarness p(ctx, "auth/flat_file");
    REQUIRE(!p.init_error);
    double best = 1e9;
    for (int i = 0; i < 3; ++i) {
        auto t0 = Clock::now();
        CHECK(result_name(plain(p, "nobody", "x")) == "DECLINED"s);
        best = std::min(best, std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    }
    CAPTURE(best);
    // A 16 MiB memory-hard hash cannot finish in 2 ms; a skipped check takes microseconds.
    CHECK(best > 2.0);
}

}  // namespace ASMTPD_TEST_UNIT

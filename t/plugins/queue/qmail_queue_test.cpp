// qmail_queue_test.cpp - tests plugins/queue/qmail_queue.cpp against t/fixtures/fake-qmail-queue
// (a real program obeying qmail-queue(8)): the exact message and envelope bytes, every class of
// exit code, crashes, hangs, missing programs, short reads, a 5 MB file spool, QMAILQUEUE, the
// child's environment, arguments, and a session that ends before the program does.
#include <doctest/doctest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "core/io/spool.hpp"
#include "t/support/fake_context.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using test::FakeContext;
using test::PluginHarness;
using test::list_dir;
using test::read_file;
using test::result_name;
using test::text_of;
using namespace std::string_literals;

namespace {

std::string repo_root() {
    // __FILE__ is t/plugins/queue/qmail_queue_test.cpp under the source tree.
    return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path().parent_path().string();
}
std::string fake_qq() { return repo_root() + "/t/fixtures/fake-qmail-queue"; }

// A finished spool holding body (a file once past threshold) in a fresh transaction.
void make_transaction(FakeContext& ctx, const std::string& body, std::size_t threshold = 1 << 20) {
    std::string spool_dir = ctx.dir() / "spool";
    std::filesystem::create_directories(spool_dir);
    auto spool = io::Spool::create(ctx.loop(), spool_dir, threshold);
    for (std::size_t off = 0; off < body.size(); off += 65536) spool->append(std::string_view(body).substr(off, 65536));
    bool finished = false, ok = false;
    spool->finish([&](bool good) {
        finished = true;
        ok = good;
    });
    ctx.run();
    REQUIRE(finished);
    REQUIRE(ok);
    ctx.txn.emplace();
    ctx.txn->number = 1;
    ctx.txn->id = "0000000000001234.1";
    ctx.txn->sender = proto::Address{"from", "example.net"};
    ctx.txn->recipients = {proto::Address{"to", "example.org"}, proto::Address{"second", "example.org"}};
    ctx.txn->received = "Received: from client.example.net ([192.0.2.10])\r\n"
                        " by mx.example.org (asmtpd) with ESMTP; Sun, 22 Nov 2026 00:00:00 +0000\r\n";
    ctx.txn->added_headers = {"X-Test: yes"};
    ctx.txn->body = spool;
}

std::string binary_body(std::size_t n) {
    std::string s = "Subject: qq\r\n\r\n";
    for (std::size_t i = 0; s.size() < n; ++i) {
        s += static_cast<char>(i * 13 + (i >> 9));   // every byte value, NULs included
        if (i % 101 == 0) s += "\r\n.\r\n";
    }
    s.resize(n);
    return s;
}

struct Stored {
    std::string name, message, envelope, environ;
};

std::vector<Stored> stored(const std::string& dir) {
    std::vector<Stored> out;
    for (const auto& n : list_dir(dir)) {
        Stored s;
        s.name = n;
        s.message = read_file(dir + "/" + n + "/message");
        s.envelope = read_file(dir + "/" + n + "/envelope");
        s.environ = read_file(dir + "/" + n + "/environ");
        out.push_back(std::move(s));
    }
    return out;
}

// The qq directory plus the plugin's arguments for it.
struct Setup {
    explicit Setup(FakeContext& c) : ctx(c), qqdir(c.dir() / "qq") { std::filesystem::create_directories(qqdir); }
    std::vector<std::string> args(std::vector<std::string> more = {}) const {
        std::vector<std::string> a = {fake_qq(), "env", "FAKEQQ_DIR=" + qqdir};
        a.insert(a.end(), more.begin(), more.end());
        return a;
    }
    FakeContext& ctx;
    std::string qqdir;
};

// Runs the queue hook once with FAKEQQ_* knobs from the connection's environment.
std::optional<hooks::Verdict> queue_with(FakeContext& ctx, PluginHarness& p, std::map<std::string, std::string> knobs) {
    ctx.conn.env = std::move(knobs);
    return p.call(hooks::Hook::Queue);
}

void expect_reply(const std::optional<hooks::Verdict>& v, hooks::Result result, int code, char esc_class) {
    REQUIRE(v);
    CHECK(v->result == result);
    REQUIRE(v->reply);
    CHECK(v->reply->code == code);
    REQUIRE(!v->reply->esc.empty());
    CHECK(v->reply->esc[0] == esc_class);
    CHECK(proto::esc_matches(v->reply->esc, v->reply->code));
    CHECK_FALSE(v->text.empty());
}

}  // namespace

TEST_CASE("qmail-queue: success stores the exact message and envelope; 250 text") {
    FakeContext ctx;
    Setup s(ctx);
    PluginHarness p(ctx, "queue/qmail-queue", s.args());
    REQUIRE_FALSE(p.init_error);
    REQUIRE(p.handlers(hooks::Hook::Queue) == 1);
    const std::string body = "Subject: hi\r\n\r\nline\r\n.dot\r\n";
    make_transaction(ctx, body);
    const std::string prefix = ctx.txn->header_prefix();
    CHECK(prefix.find("X-Test: yes\r\n") != std::string::npos);

    auto v = p.call(hooks::Hook::Queue);
    REQUIRE(v);
    CHECK(std::string(result_name(v)) == "OK");
    CHECK(std::regex_match(v->text, std::regex(R"(Queued! \d{10} qp \d+)")));
    auto all = stored(s.qqdir);
    REQUIRE(all.size() == 1);
    CHECK(all[0].message == prefix + body);
    CHECK(all[0].envelope == "Ffrom@example.net\0Tto@example.org\0Tsecond@example.org\0\0"s);
    // The pid in the text is qmail-queue's, as in qmail's "qp".
    CHECK(all[0].name.substr(all[0].name.find('.') + 1) == v->text.substr(v->text.rfind(' ') + 1));

    // Null sender, a quoted local part (stored unquoted, as qmail-smtpd does) and postmaster.
    ctx.txn->sender = proto::Address{};
    ctx.txn->recipients = {proto::Address{"john doe", "example.org"}, proto::Address{"postmaster", ""}};
    v = p.call(hooks::Hook::Queue);
    CHECK(std::string(result_name(v)) == "OK");
    all = stored(s.qqdir);
    REQUIRE(all.size() == 2);
    CHECK(all[1].envelope == "F\0Tjohn doe@example.org\0Tpostmaster\0\0"s);
}

TEST_CASE("qmail-queue: permanent exit codes give 554 with a 5.x.x code, nothing stored") {
    FakeContext ctx;
    Setup s(ctx);
    PluginHarness p(ctx, "queue/qmail-queue", s.args());
    make_transaction(ctx, "Subject: x\r\n\r\nbody\r\n");

    auto v = queue_with(ctx, p, {{"FAKEQQ_EXIT", "11"}});
    expect_reply(v, hooks::Result::Deny, 554, '5');
    CHECK(v->reply->esc == "5.1.3");
    CHECK(v->text == "Envelope address too long for qq");

    v = queue_with(ctx, p, {{"FAKEQQ_EXIT", "31"}});
    expect_reply(v, hooks::Result::Deny, 554, '5');
    CHECK(v->reply->esc == "5.3.0");
    CHECK(v->text == "Mail server permanently rejected message");

    for (int code : {12, 20, 30, 32, 40}) {
        CAPTURE(code);
        v = queue_with(ctx, p, {{"FAKEQQ_EXIT", std::to_string(code)}});
        expect_reply(v, hooks::Result::Deny, 554, '5');
        CHECK(v->text.find("permanent") != std::string::npos);
        CHECK(v->text.find(std::to_string(code)) != std::string::npos);
    }
    CHECK(list_dir(s.qqdir).empty());
}

TEST_CASE("qmail-queue: every other exit code is temporary (451), with its meaning") {
    FakeContext ctx;
    Setup s(ctx);
    PluginHarness p(ctx, "queue/qmail-queue", s.args());
    make_transaction(ctx, "Subject: x\r\n\r\nbody\r\n");
    const std::map<int, std::string> meaning = {
        {51, "out of memory"}, {52, "timeout"}, {53, "write error or disk full"}, {54, "read error"},
        {55, "configuration"}, {56, "network connection"}, {61, "home directory"}, {62, "queue"},
        {63, "queue/pid"}, {64, "queue/mess"}, {65, "queue/intd"}, {66, "queue/todo"},
        {71, "temporarily rejected"}, {72, "timed out"}, {73, "rejected"}, {74, "communication"},
        {81, "internal bug"}, {91, "envelope format"}, {120, "exec"}};
    for (const auto& [code, words] : meaning) {
        CAPTURE(code);
        auto v = queue_with(ctx, p, {{"FAKEQQ_EXIT", std::to_string(code)}});
        expect_reply(v, hooks::Result::DenySoft, 451, '4');
        CHECK(v->text.find(words) != std::string::npos);
    }
    for (int code : {1, 2, 10, 41, 50, 57, 100, 111, 127, 255}) {
        CAPTURE(code);
        auto v = queue_with(ctx, p, {{"FAKEQQ_EXIT", std::to_string(code)}});
        expect_reply(v, hooks::Result::DenySoft, 451, '4');
        CHECK(v->reply->esc == "4.3.0");
        CHECK(v->text == "qq temporary problem (exit " + std::to_string(code) + ")");
    }
    CHECK(list_dir(s.qqdir).empty());
}

TEST_CASE("qmail-queue: exit 82 carries a custom error from fd 6") {
    FakeContext ctx;
    Setup s(ctx);
    PluginHarness p(ctx, "queue/qmail-queue", s.args());
    make_transaction(ctx, "Subject: x\r\n\r\nbody\r\n");
    auto v = queue_with(ctx, p, {{"FAKEQQ_FD6", "DVirus found: Eicar-Test (#5.7.1)"}});
    expect_reply(v, hooks::Result::Deny, 554, '5');
    CHECK(v->text == "Virus found: Eicar-Test (#5.7.1)");
    v = queue_with(ctx, p, {{"FAKEQQ_FD6", "Zscanner busy, try later\r\n554 injected"}});
    expect_reply(v, hooks::Result::DenySoft, 451, '4');
    CHECK(v->text == "scanner busy, try later");   // one line only: no reply injection
    for (const char* bad : {"", "D", "Xwhat", "Z\001\002"}) {
        CAPTURE(bad);
        v = queue_with(ctx, p, {{"FAKEQQ_FD6", bad}});
        expect_reply(v, hooks::Result::DenySoft, 451, '4');
        CHECK(v->text.find("exit 82") != std::string::npos);
    }
    CHECK(list_dir(s.qqdir).empty());
}

TEST_CASE("qmail-queue: crash, hang, missing program and short write are all 451") {
    FakeContext ctx;
    Setup s(ctx);
    SUBCASE("killed by SIGKILL") {
        PluginHarness p(ctx, "queue/qmail-queue", s.args());
        make_transaction(ctx, "Subject: x\r\n\r\nbody\r\n");
        auto v = queue_with(ctx, p, {{"FAKEQQ_SIGNAL", "9"}});
        expect_reply(v, hooks::Result::DenySoft, 451, '4');
        CHECK(v->text == "qq crashed (signal 9)");
        v = queue_with(ctx, p, {{"FAKEQQ_SIGNAL", "15"}});
        CHECK(v->text == "qq crashed (signal 15)");
    }
    SUBCASE("hangs past the timeout: group killed, 451 timeout") {
        PluginHarness p(ctx, "queue/qmail-queue", s.args({"timeout", "0.4"}));
        REQUIRE_FALSE(p.init_error);
        // The hook's own deadline must come after the child's kill escalation.
        CHECK(p.plugin().timeout() >= std::chrono::milliseconds(400 + 2000));
        make_transaction(ctx, "Subject: x\r\n\r\nbody\r\n");
        auto t0 = std::chrono::steady_clock::now();
        auto v = queue_with(ctx, p, {{"FAKEQQ_SLEEP", "100"}});
        auto took = std::chrono::steady_clock::now() - t0;
        expect_reply(v, hooks::Result::DenySoft, 451, '4');
        CHECK(v->text.find("qq timeout") == 0);
        CHECK(took >= std::chrono::milliseconds(350));
        CHECK(took < std::chrono::seconds(3));
        CHECK(ctx.children().running() == 0);
    }
    SUBCASE("missing program, via QMAILQUEUE or removed after start-up") {
        PluginHarness p(ctx, "queue/qmail-queue", s.args());
        make_transaction(ctx, "Subject: x\r\n\r\nbody\r\n");
        auto v = queue_with(ctx, p, {{"QMAILQUEUE", ctx.dir() / "no-such-qmail-queue"}});
        expect_reply(v, hooks::Result::DenySoft, 451, '4');
        CHECK(v->text.find("unable to exec qq") == 0);
        CHECK(v->text.find("ENOENT") != std::string::npos);

        std::string copy = ctx.dir() / "qq-copy";
        std::filesystem::copy_file(fake_qq(), copy);
        ::chmod(copy.c_str(), 0755);
        PluginHarness p2(ctx, "queue/qmail-queue", {copy, "env", "FAKEQQ_DIR=" + s.qqdir});
        REQUIRE_FALSE(p2.init_error);
        ::chmod(copy.c_str(), 0644);
        v = queue_with(ctx, p2, {});
        expect_reply(v, hooks::Result::DenySoft, 451, '4');
        CHECK(v->text.find("EACCES") != std::string::npos);
        std::filesystem::remove(copy);
        v = queue_with(ctx, p2, {});
        CHECK(v->text.find("ENOENT") != std::string::npos);
    }
    SUBCASE("exits 0 without reading the message: a short write is never OK") {
        PluginHarness p(ctx, "queue/qmail-queue", s.args());
        make_transaction(ctx, binary_body(2 * 1024 * 1024), 4096);
        REQUIRE(ctx.txn->body->in_file());
        auto v = queue_with(ctx, p, {{"FAKEQQ_NOREAD", "1"}});
        expect_reply(v, hooks::Result::DenySoft, 451, '4');
        CHECK(v->text.find("not written in full") != std::string::npos);
        // And exiting with an error without reading reports that error.
        v = queue_with(ctx, p, {{"FAKEQQ_NOREAD", "1"}, {"FAKEQQ_EXIT", "53"}});
        CHECK(v->text == "qq write error or disk full");
    }
    CHECK(list_dir(s.qqdir).empty());
    CHECK(ctx.children().running() == 0);
}

TEST_CASE("qmail-queue: a 5 MB file spool is streamed byte-exact") {
    FakeContext ctx;
    Setup s(ctx);
    PluginHarness p(ctx, "queue/qmail-queue", s.args());
    const std::string body = binary_body(5 * 1024 * 1024 + 17);
    make_transaction(ctx, body, 64 * 1024);
    REQUIRE(ctx.txn->body->in_file());
    auto v = p.call(hooks::Hook::Queue);
    REQUIRE(v);
    CHECK(std::string(result_name(v)) == "OK");
    auto all = stored(s.qqdir);
    REQUIRE(all.size() == 1);
    CHECK(all[0].message.size() == ctx.txn->header_prefix().size() + body.size());
    CHECK((all[0].message == ctx.txn->header_prefix() + body));
}

TEST_CASE("qmail-queue: QMAILQUEUE overrides the path; the environment is explicit") {
    FakeContext ctx;
    Setup s(ctx);
    ::setenv("ASMTPD_QQ_TEST_SECRET", "must-not-leak", 1);
    // The configured program does not exist; QMAILQUEUE names the real one.
    PluginHarness p(ctx, "queue/qmail-queue",
                    {"qmail-queue-not-installed", "env", "FAKEQQ_DIR=" + s.qqdir, "env", "EXTRA=a b=c", "env", "EXTRA=last"});
    REQUIRE_FALSE(p.init_error);
    make_transaction(ctx, "Subject: x\r\n\r\nbody\r\n");
    ctx.conn.relay_client = true;
    auto v = queue_with(ctx, p, {{"QMAILQUEUE", fake_qq()}, {"SMTPUSER", "alice"}, {"bad name", "x"}});
    REQUIRE(v);
    CHECK(std::string(result_name(v)) == "OK");
    auto all = stored(s.qqdir);
    REQUIRE(all.size() == 1);
    std::vector<std::string> env;
    for (std::size_t pos = 0; pos < all[0].environ.size();) {
        auto end = all[0].environ.find('\0', pos);
        env.push_back(all[0].environ.substr(pos, end - pos));
        pos = end + 1;
    }
    auto has = [&](const std::string& kv) { return std::find(env.begin(), env.end(), kv) != env.end(); };
    CHECK(has("FAKEQQ_DIR=" + s.qqdir));
    CHECK(has("EXTRA=last"));
    CHECK(has("SMTPUSER=alice"));
    CHECK(has("QMAILQUEUE=" + fake_qq()));
    CHECK(has("TCPREMOTEIP=192.0.2.10"));
    CHECK(has("TCPLOCALPORT=25"));
    CHECK(has("RELAYCLIENT="));
    CHECK(has("PATH=/usr/local/bin:/usr/bin:/bin"));
    for (const auto& kv : env) {
        CAPTURE(kv);
        CHECK(kv.find("ASMTPD_QQ_TEST_SECRET") == std::string::npos);
        CHECK(kv.find("bad name") == std::string::npos);
    }
    ::unsetenv("ASMTPD_QQ_TEST_SECRET");

    // Without QMAILQUEUE the configured (missing) program is used.
    v = queue_with(ctx, p, {});
    CHECK(v->result == hooks::Result::DenySoft);
    CHECK(v->text.find("ENOENT") != std::string::npos);
}

TEST_CASE("qmail-queue: arguments") {
    FakeContext ctx;
    ctx.facts.plugin_timeout = std::chrono::milliseconds(7000);
    {
        PluginHarness p(ctx, "queue/qmail-queue");
        CHECK_FALSE(p.init_error);   // the default path is not checked (QMAILQUEUE may replace it)
        CHECK(p.plugin().timeout() == std::chrono::milliseconds(7000 + 4000));
    }
    {
        PluginHarness p(ctx, "queue/qmail-queue", {"timeout", "2.5"});
        CHECK_FALSE(p.init_error);
        CHECK(p.plugin().timeout() == std::chrono::milliseconds(2500 + 4000));
    }
    const std::vector<std::vector<std::string>> bad = {
        {"timeout"},
        {"timeout", "0"},
        {"timeout", "-1"},
        {"timeout", "soon"},
        {"env"},
        {"env", "NOEQUALS"},
        {"env", "=value"},
        {"env", "1X=y"},
        {"env", "A-B=y"},
        {"/bin/true", "/bin/false"},
        {"/nonexistent/qmail-queue"},
        {fake_qq(), "extra"},
    };
    for (const auto& args : bad) {
        std::string joined;
        for (const auto& a : args) joined += a + " ";
        CAPTURE(joined);
        PluginHarness p(ctx, "queue/qmail-queue", args);
        CHECK(p.init_error.has_value());
    }
}

TEST_CASE("qmail-queue: no body or no recipients is a 451 without running anything") {
    FakeContext ctx;
    Setup s(ctx);
    PluginHarness p(ctx, "queue/qmail-queue", s.args());
    auto v = p.call(hooks::Hook::Queue);   // no transaction at all
    expect_reply(v, hooks::Result::DenySoft, 451, '4');
    make_transaction(ctx, "x");
    ctx.txn->recipients.clear();
    v = p.call(hooks::Hook::Queue);
    expect_reply(v, hooks::Result::DenySoft, 451, '4');
    ctx.txn->recipients = {proto::Address{std::string("a\0Tevil", 7), "example.org"}};
    v = p.call(hooks::Hook::Queue);
    expect_reply(v, hooks::Result::Deny, 554, '5');
    CHECK(ctx.children().peak_running() == 0);
    CHECK(list_dir(s.qqdir).empty());
}

TEST_CASE("qmail-queue: the session ends first; the hand-off still finishes, the answer is dropped") {
    FakeContext ctx;
    Setup s(ctx);
    PluginHarness p(ctx, "queue/qmail-queue", s.args());
    make_transaction(ctx, binary_body(300000), 4096);
    const std::string expect = ctx.txn->header_prefix() + binary_body(300000);
    ctx.conn.env = {{"FAKEQQ_SLEEP", "0.3"}};
    auto sink = p.start(hooks::Hook::Queue);
    CHECK_FALSE(sink->verdict);
    // What a disconnect does: the session and its transaction go away.
    ctx.end_session();
    ctx.txn.reset();
    ctx.run();
    auto all = stored(s.qqdir);
    REQUIRE(all.size() == 1);
    CHECK((all[0].message == expect));
    CHECK(sink->resolves == 1);   // resolved once (a real chain drops it: its token is stale)
    CHECK(ctx.children().running() == 0);
}

}  // namespace ASMTPD_TEST_UNIT

// maildir_test.cpp - tests plugins/queue/maildir.cpp: byte-exact delivery from memory and file
// spools, unique names, failure clean-up, and a session that is gone before the worker ends.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <filesystem>
#include <regex>

#include "core/io/spool.hpp"
#include "t/support/fake_context.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using test::FakeContext;
using test::PluginHarness;
using test::list_dir;
using test::read_file;
using test::result_name;

namespace {

// Puts a finished spool holding `body` into ctx's transaction.
void make_transaction(FakeContext& ctx, const std::string& body, std::size_t threshold,
                      std::size_t piece = 1000) {
    std::string spool_dir = ctx.dir() / "spool";
    std::filesystem::create_directories(spool_dir);
    auto spool = io::Spool::create(ctx.loop(), spool_dir, threshold);
    for (std::size_t off = 0; off < body.size(); off += piece) spool->append(std::string_view(body).substr(off, piece));
    bool finished = false, ok = false;
    spool->finish([&](bool good) {
        finished = true;
        ok = good;
    });
    ctx.run();
    REQUIRE(finished);
    REQUIRE(ok);
    REQUIRE(spool->size() == body.size());
    ctx.txn.emplace();
    ctx.txn->number = 1;
    ctx.txn->id = "0000000000001234.1";
    ctx.txn->sender = proto::Address{"from", "example.net"};
    ctx.txn->recipients.push_back(proto::Address{"to", "example.org"});
    ctx.txn->received = "Received: from client.example.net (HELO c) ([192.0.2.10])\r\n"
                        " by mx.example.org (asmtpd) with ESMTP; Sun, 22 Nov 2026 00:00:00 +0000\r\n";
    ctx.txn->body = spool;
}

std::string binary_body(std::size_t n) {
    std::string s = "Subject: test\r\n\r\n";
    for (std::size_t i = 0; s.size() < n; ++i) {
        s += static_cast<char>(i * 7 + (i >> 8));   // every byte value, NULs included
        if (i % 97 == 0) s += "\r\n.\r\n";          // things a careless writer might eat
    }
    s.resize(n);
    return s;
}

// Runs the queue hook and checks that exactly one file landed in new/ with prefix + body.
void expect_delivery(FakeContext& ctx, PluginHarness& p, const std::string& maildir, const std::string& body) {
    // qmail-local's envelope fields first, then Received and the rest of the prefix.
    std::string envelope = "Return-Path: " + (ctx.txn->sender ? ctx.txn->sender->format() : std::string("<>")) + "\r\n";
    for (const auto& r : ctx.txn->recipients) envelope += "Delivered-To: " + r.bare() + "\r\n";
    std::string prefix = envelope + ctx.txn->header_prefix();
    CHECK(ctx.txn->header_prefix().rfind(ctx.txn->received, 0) == 0);
    auto before = list_dir(maildir + "/new");
    auto v = p.call(hooks::Hook::Queue);
    REQUIRE(v);
    CHECK(std::string(result_name(v)) == "OK");
    auto after = list_dir(maildir + "/new");
    REQUIRE(after.size() == before.size() + 1);
    std::string name;
    for (const auto& n : after)
        if (std::find(before.begin(), before.end(), n) == before.end()) name = n;
    CHECK(test::text_of(v) == "Queued as " + name);
    CHECK(std::regex_match(name, std::regex(R"(\d+\.M\d+P\d+Q\d+\.mx\.example\.org)")));
    std::string got = read_file(maildir + "/new/" + name);
    CHECK(got.size() == prefix.size() + body.size());
    CHECK(got == prefix + body);
    if (ctx.txn->sender && ctx.txn->sender->local == "from" && ctx.txn->recipients.size() == 1)
        CHECK(got.rfind("Return-Path: <from@example.net>\r\nDelivered-To: to@example.org\r\nReceived: ", 0) == 0);
    struct stat st {};
    REQUIRE(::stat((maildir + "/new/" + name).c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    CHECK(list_dir(maildir + "/tmp").empty());
}

}  // namespace

TEST_CASE("queue/maildir: init creates tmp, new and cur (mkdir -p)") {
    FakeContext ctx;
    std::string dir = ctx.dir() / "a/b/Maildir/";
    PluginHarness p(ctx, "queue/maildir", {dir});
    REQUIRE_FALSE(p.init_error);
    for (const char* sub : {"tmp", "new", "cur"}) {
        CAPTURE(sub);
        CHECK(std::filesystem::is_directory(dir + sub));
        struct stat st {};
        REQUIRE(::stat((dir + sub).c_str(), &st) == 0);
        CHECK((st.st_mode & 0777) == 0700);
    }
    // An existing maildir is reused as it is.
    ::chmod((dir + "new").c_str(), 0750);
    PluginHarness again(ctx, "queue/maildir", {dir});
    REQUIRE_FALSE(again.init_error);
    struct stat st {};
    REQUIRE(::stat((dir + "new").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0750);
    CHECK(p.handlers(hooks::Hook::Queue) == 1);
}

TEST_CASE("queue/maildir: init fails when the directory cannot be made; extra args refused") {
    FakeContext ctx;
    ctx.dir().write("plainfile", "x");
    auto err = PluginHarness(ctx, "queue/maildir", {ctx.dir() / "plainfile/Maildir"}).init_error;
    REQUIRE(err);
    CHECK(err->find("plainfile") != std::string::npos);
    CHECK(PluginHarness(ctx, "queue/maildir", {ctx.dir() / "m", "%d/%u"}).init_error);
    CHECK(PluginHarness(ctx, "queue/maildir", {""}).init_error);
}

TEST_CASE("queue/maildir: a relative DIR is taken from the config directory, not the working directory") {
    FakeContext ctx;
    // The working directory of the test binary is build-asan/: nothing may appear there.
    PluginHarness p(ctx, "queue/maildir", {"box/../Maildir/"});
    REQUIRE_FALSE(p.init_error);
    CHECK(std::filesystem::is_directory(ctx.dir() / "Maildir/new"));
    CHECK_FALSE(std::filesystem::exists("Maildir"));
    CHECK_FALSE(std::filesystem::exists("box"));
    CHECK(p.plugin().storage_paths() == std::vector<std::string>{ctx.dir() / "Maildir"});
}

TEST_CASE("queue/maildir: delivers a memory spool byte for byte") {
    FakeContext ctx;
    std::string dir = ctx.dir() / "Maildir";
    PluginHarness p(ctx, "queue/maildir", {dir});
    REQUIRE_FALSE(p.init_error);
    std::string body = "Subject: hi\r\n\r\nHello\r\n..stuffed stays as given\r\n";
    make_transaction(ctx, body, 1 << 20);
    REQUIRE_FALSE(ctx.txn->body->in_file());
    expect_delivery(ctx, p, dir, body);
}

TEST_CASE("queue/maildir: delivers a file spool larger than one read chunk") {
    FakeContext ctx;
    std::string dir = ctx.dir() / "Maildir";
    PluginHarness p(ctx, "queue/maildir", {dir});
    REQUIRE_FALSE(p.init_error);
    std::string body = binary_body(3 * 65536 + 4321);
    make_transaction(ctx, body, 16, 7777);
    REQUIRE(ctx.txn->body->in_file());
    expect_delivery(ctx, p, dir, body);
}

TEST_CASE("queue/maildir: a small file spool, an empty body, and unique names") {
    FakeContext ctx;
    std::string dir = ctx.dir() / "Maildir";
    PluginHarness p(ctx, "queue/maildir", {dir});
    REQUIRE_FALSE(p.init_error);
    std::string body = "0123456789abcdefXYZ";   // 19 bytes > threshold 16
    make_transaction(ctx, body, 16, 5);
    REQUIRE(ctx.txn->body->in_file());
    expect_delivery(ctx, p, dir, body);
    expect_delivery(ctx, p, dir, body);            // same message again: a new name
    make_transaction(ctx, "", 16);
    expect_delivery(ctx, p, dir, "");
    CHECK(list_dir(dir + "/new").size() == 3);
}

TEST_CASE("queue/maildir: host names are escaped in file names") {
    FakeContext ctx;
    ctx.facts.hostname = "odd/host:name";
    std::string dir = ctx.dir() / "Maildir";
    PluginHarness p(ctx, "queue/maildir", {dir});
    make_transaction(ctx, "x\r\n", 1024);
    auto v = p.call(hooks::Hook::Queue);
    CHECK(std::string(result_name(v)) == "OK");
    auto names = list_dir(dir + "/new");
    REQUIRE(names.size() == 1);
    CHECK(names[0].size() > 20);
    CHECK(names[0].substr(names[0].find(".odd")) == ".odd\\057host\\072name");
}

TEST_CASE("queue/maildir: a failed rename gives DENYSOFT and leaves nothing in tmp/") {
    FakeContext ctx;
    std::string dir = ctx.dir() / "Maildir";
    PluginHarness p(ctx, "queue/maildir", {dir});
    REQUIRE_FALSE(p.init_error);
    // Root ignores permissions, so break new/ by making it a regular file.
    std::filesystem::remove(dir + "/new");
    ctx.dir().write("Maildir/new", "not a directory");
    make_transaction(ctx, binary_body(5000), 16);
    auto v = p.call(hooks::Hook::Queue);
    REQUIRE(v);
    CHECK(std::string(result_name(v)) == "DENYSOFT");
    CHECK(test::text_of(v) == "Queue write failed");
    CHECK(list_dir(dir + "/tmp").empty());
    CHECK(read_file(dir + "/new") == "not a directory");
    CHECK(ctx.log_text().find("Maildir/new/") != std::string::npos);   // the reason is logged
}

TEST_CASE("queue/maildir: a missing tmp/ gives DENYSOFT") {
    FakeContext ctx;
    std::string dir = ctx.dir() / "Maildir";
    PluginHarness p(ctx, "queue/maildir", {dir});
    std::filesystem::remove(dir + "/tmp");
    make_transaction(ctx, "x", 1024);
    CHECK(std::string(result_name(p.call(hooks::Hook::Queue))) == "DENYSOFT");
    CHECK(list_dir(dir + "/new").empty());
}

TEST_CASE("queue/maildir: no transaction or no body gives DENYSOFT") {
    FakeContext ctx;
    std::string dir = ctx.dir() / "Maildir";
    PluginHarness p(ctx, "queue/maildir", {dir});
    CHECK(std::string(result_name(p.call(hooks::Hook::Queue))) == "DENYSOFT");
    ctx.txn.emplace();
    CHECK(std::string(result_name(p.call(hooks::Hook::Queue))) == "DENYSOFT");
    CHECK(list_dir(dir + "/new").empty());
}

TEST_CASE("queue/maildir: the worker outlives the session that started it") {
    FakeContext ctx;
    std::string dir = ctx.dir() / "Maildir";
    PluginHarness p(ctx, "queue/maildir", {dir});
    std::string body = binary_body(100000);
    make_transaction(ctx, body, 16);
    std::string prefix = "Return-Path: <from@example.net>\r\nDelivered-To: to@example.org\r\n" + ctx.txn->header_prefix();
    auto sink = p.start(hooks::Hook::Queue);
    CHECK_FALSE(sink->verdict);   // the write happens off the loop thread
    // The session goes away: transaction, chain (the sink) and all.
    ctx.txn.reset();
    ctx.end_session();
    std::weak_ptr<test::VerdictSink> gone = sink;
    sink.reset();
    ctx.run();
    CHECK(gone.expired());
    auto names = list_dir(dir + "/new");
    REQUIRE(names.size() == 1);
    CHECK(read_file(dir + "/new/" + names[0]) == prefix + body);
}

}  // namespace ASMTPD_TEST_UNIT

// spp_config_cache_test.cpp - tests plugins/spp/spp_config_cache.cpp: reading on the pool,
// missing vs unreadable files, one parse per version, the once-a-second check, snapshots.
#include "plugins/spp/spp_config_cache.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <chrono>
#include <thread>

#include "t/support/fake_context.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::plugins::spp;

namespace {
LoadOutcome load(asmtpd::test::FakeContext& ctx, ConfigCache& cache, const std::string& path) {
    std::optional<LoadOutcome> got;
    cache.load(ctx.reactor(), path, [&](LoadOutcome o) { got = std::move(o); });
    if (!got) ctx.run();
    REQUIRE(got);
    return *got;
}
}  // namespace

TEST_CASE("spp config cache: missing, not a file, unreadable") {
    asmtpd::test::FakeContext ctx;
    ConfigCache cache;
    auto m = load(ctx, cache, ctx.dir() / "none");
    CHECK_FALSE(m.config);
    CHECK(m.missing);
    CHECK_FALSE(m.error.empty());
    auto dir = load(ctx, cache, ctx.dir().path());
    CHECK_FALSE(dir.config);
    CHECK_FALSE(dir.missing);
    if (::geteuid() != 0) {   // root reads anything
        ctx.dir().write("locked", "[mail]\n/x\n");
        ::chmod((ctx.dir() / "locked").c_str(), 0);
        auto l = load(ctx, cache, ctx.dir() / "locked");
        CHECK_FALSE(l.config);
        CHECK_FALSE(l.missing);
    }
    auto r = read_config_file(ctx.dir() / "none");
    CHECK(r.missing);
}

TEST_CASE("spp config cache: parse once per version, recheck at most once a second") {
    asmtpd::test::FakeContext ctx;
    ConfigCache cache;
    std::string path = ctx.dir() / "smtpplugins";
    ctx.dir().write("smtpplugins", "[mail]\n/a\n");
    auto first = load(ctx, cache, path);
    REQUIRE(first.config);
    CHECK(first.reloaded);
    CHECK(first.config->programs(Section::Mail).size() == 1);

    ctx.dir().write("smtpplugins", "[mail]\n/a\n/b\n");
    auto soon = load(ctx, cache, path);          // within the second: the cached snapshot
    CHECK(soon.config == first.config);
    CHECK_FALSE(soon.reloaded);

    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    auto later = load(ctx, cache, path);
    REQUIRE(later.config);
    CHECK(later.reloaded);
    CHECK(later.config->programs(Section::Mail).size() == 2);
    CHECK(first.config->programs(Section::Mail).size() == 1);   // old snapshots never change

    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    auto same = load(ctx, cache, path);          // checked again, unchanged: no new parse
    CHECK(same.config == later.config);
    CHECK_FALSE(same.reloaded);

    std::remove(path.c_str());
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    auto gone = load(ctx, cache, path);
    CHECK_FALSE(gone.config);
    CHECK(gone.missing);
}

TEST_CASE("spp config cache: seed makes the first load synchronous") {
    asmtpd::test::FakeContext ctx;
    ConfigCache cache;
    std::string path = ctx.dir() / "smtpplugins";
    ctx.dir().write("smtpplugins", "[rcpt]\n/r\n");
    auto read = read_config_file(path);
    REQUIRE(read.error.empty());
    CHECK(read.text == "[rcpt]\n/r\n");
    cache.seed(path, read, std::make_shared<const SppConfig>(parse_spp_config(read.text)));
    bool called = false;
    cache.load(ctx.reactor(), path, [&](LoadOutcome o) {
        called = true;
        CHECK(o.config);
    });
    CHECK(called);   // no loop turn needed
}

}  // namespace ASMTPD_TEST_UNIT

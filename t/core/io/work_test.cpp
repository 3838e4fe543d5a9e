// work_test.cpp - io::run_in_pool runs work off the loop thread and `after` on it, in a pair.
#include "core/io/work.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <memory>
#include <thread>

#include "t/core/io/test_loop.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using asmtpd::io::run_in_pool;
using asmtpd::io::test::TestLoop;

TEST_CASE("work runs on a pool thread, after on the loop thread, after work") {
    TestLoop loop;
    const auto loop_thread = std::this_thread::get_id();
    std::thread::id work_thread;
    std::atomic<bool> work_done{false};
    bool after_saw_work = false, after_on_loop = false, after_ran = false;
    run_in_pool(
        loop.get(),
        [&] {
            work_thread = std::this_thread::get_id();
            work_done = true;
        },
        [&] {
            after_ran = true;
            after_saw_work = work_done;
            after_on_loop = std::this_thread::get_id() == loop_thread;
        });
    CHECK_FALSE(after_ran);   // never synchronous
    REQUIRE(loop.run_until([&] { return after_ran; }));
    CHECK(work_thread != loop_thread);
    CHECK(after_saw_work);
    CHECK(after_on_loop);
}

TEST_CASE("many jobs each complete once, and their captures are released") {
    TestLoop loop;
    auto token = std::make_shared<int>(0);
    std::atomic<int> worked{0};
    int after = 0;
    for (int i = 0; i < 100; ++i)
        run_in_pool(loop.get(), [&worked, token] { ++worked; }, [&after, token] { ++after; });
    REQUIRE(loop.run_until([&] { return after == 100; }));
    CHECK(worked == 100);
    CHECK(token.use_count() == 1);
}

TEST_CASE("after may queue more work; empty functions are allowed") {
    TestLoop loop;
    int stage = 0;
    run_in_pool(loop.get(), nullptr, [&] {
        stage = 1;
        run_in_pool(loop.get(), [] {}, [&] { stage = 2; });
    });
    REQUIRE(loop.run_until([&] { return stage == 2; }));
    bool done = false;
    run_in_pool(loop.get(), [&] { done = true; }, nullptr);
    loop.run_for(50);
    CHECK(done);
}

}  // namespace ASMTPD_TEST_UNIT

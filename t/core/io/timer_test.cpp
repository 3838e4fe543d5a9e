// timer_test.cpp - io::Timer: firing, stop, restart, and destruction at awkward moments.
#include "core/io/timer.hpp"

#include <doctest/doctest.h>

#include <memory>

#include "t/core/io/test_loop.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using asmtpd::io::Timer;
using asmtpd::io::test::TestLoop;

TEST_CASE("timer fires once after its delay") {
    TestLoop loop;
    Timer t(loop.get());
    int fired = 0;
    uv_update_time(loop.get());
    const auto start = uv_now(loop.get());
    std::uint64_t at = 0;
    t.start(30, [&] { ++fired; at = uv_now(loop.get()); });
    CHECK(t.active());
    CHECK(loop.run_until([&] { return fired > 0; }));
    CHECK(at - start >= 30);
    CHECK_FALSE(t.active());
    loop.run_for(60);
    CHECK(fired == 1);   // one-shot
}

TEST_CASE("stop prevents the callback and releases its captures") {
    TestLoop loop;
    Timer t(loop.get());
    auto token = std::make_shared<int>(7);
    int fired = 0;
    t.start(10, [&fired, token] { ++fired; });
    CHECK(token.use_count() == 2);
    t.stop();
    CHECK_FALSE(t.active());
    CHECK(token.use_count() == 1);
    loop.run_for(50);
    CHECK(fired == 0);
    t.stop();   // idempotent
}

TEST_CASE("restarting replaces the pending callback") {
    TestLoop loop;
    Timer t(loop.get());
    int first = 0, second = 0;
    t.start(10, [&] { ++first; });
    t.start(20, [&] { ++second; });
    loop.run_for(80);
    CHECK(first == 0);
    CHECK(second == 1);
}

TEST_CASE("the callback may restart its own timer") {
    TestLoop loop;
    Timer t(loop.get());
    int count = 0;
    std::function<void()> tick = [&] {
        if (++count < 3) t.start(5, tick);
    };
    t.start(5, tick);
    CHECK(loop.run_until([&] { return count == 3; }));
    loop.run_for(30);
    CHECK(count == 3);
    CHECK_FALSE(t.active());
}

TEST_CASE("the callback may destroy its own timer") {
    TestLoop loop;
    auto t = std::make_unique<Timer>(loop.get());
    auto token = std::make_shared<int>(1);
    bool fired = false;
    t->start(5, [&, token] {
        t.reset();   // frees the Timer while its callback runs
        fired = true;
        CHECK(*token == 1);   // the running callback's captures are still alive
    });
    CHECK(loop.run_until([&] { return fired; }));
    CHECK(t == nullptr);
    CHECK(token.use_count() == 1);
}

TEST_CASE("destroying an armed timer cancels it; the loop still closes cleanly") {
    TestLoop loop;
    int fired = 0;
    {
        Timer t(loop.get());
        t.start(5, [&] { ++fired; });
    }
    loop.run_for(40);
    CHECK(fired == 0);
}

TEST_CASE("a timer callback may destroy another armed timer") {
    TestLoop loop;
    auto victim = std::make_unique<Timer>(loop.get());
    Timer killer(loop.get());
    int victim_fired = 0;
    // Same deadline: both are due in the same loop turn, and the killer was armed first.
    killer.start(10, [&] { victim.reset(); });
    victim->start(10, [&] { ++victim_fired; });
    loop.run_for(50);
    CHECK(victim == nullptr);
    CHECK(victim_fired == 0);
}

}  // namespace ASMTPD_TEST_UNIT

// signals_test.cpp - io::SignalWatcher delivers on the loop thread, stops, and survives being
// destroyed inside its own callback.
#include "core/io/signals.hpp"

#include <doctest/doctest.h>

#include <csignal>
#include <memory>

#include "t/core/io/test_loop.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using asmtpd::io::SignalWatcher;
using asmtpd::io::test::TestLoop;

TEST_CASE("a watched signal reaches the callback with its number, repeatedly") {
    TestLoop loop;
    SignalWatcher w(loop.get());
    int got = 0, count = 0;
    REQUIRE(w.start(SIGUSR1, [&](int sig) { got = sig; ++count; }) == 0);
    CHECK(w.active());
    raise(SIGUSR1);
    REQUIRE(loop.run_until([&] { return count == 1; }));
    CHECK(got == SIGUSR1);
    raise(SIGUSR1);
    REQUIRE(loop.run_until([&] { return count == 2; }));
    w.stop();
    CHECK_FALSE(w.active());
}

TEST_CASE("the callback may destroy its watcher; a stopped watcher sees nothing") {
    TestLoop loop;
    // A second watcher keeps libuv's handler installed, so raising after the first is gone is safe.
    SignalWatcher guard(loop.get());
    int guard_count = 0;
    REQUIRE(guard.start(SIGUSR2, [&](int) { ++guard_count; }) == 0);

    auto w = std::make_unique<SignalWatcher>(loop.get());
    int count = 0;
    REQUIRE(w->start(SIGUSR2, [&](int) {
        ++count;
        w.reset();
    }) == 0);
    raise(SIGUSR2);
    REQUIRE(loop.run_until([&] { return w == nullptr && guard_count == 1; }));
    CHECK(count == 1);
    raise(SIGUSR2);
    REQUIRE(loop.run_until([&] { return guard_count == 2; }));
    CHECK(count == 1);
}

TEST_CASE("start rejects an invalid signal number") {
    TestLoop loop;
    SignalWatcher w(loop.get());
    CHECK(w.start(0, [](int) {}) != 0);
    CHECK_FALSE(w.active());
}

TEST_CASE("ignore_sigpipe makes SIGPIPE harmless") {
    asmtpd::io::ignore_sigpipe();
    raise(SIGPIPE);   // would kill the test binary otherwise
    CHECK(true);
}

}  // namespace ASMTPD_TEST_UNIT

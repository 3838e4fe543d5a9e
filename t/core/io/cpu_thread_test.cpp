// cpu_thread_test.cpp - io::CpuThread: jobs run off the loop in the order posted, `after` runs
// on the loop, an idle thread does not hold the loop, destruction drops what has not run.
#include "core/io/cpu_thread.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <uv.h>

#include "t/core/io/test_loop.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using asmtpd::io::CpuThread;
using asmtpd::io::test::TestLoop;

TEST_CASE("cpu thread: work off the loop, in order; after on the loop, never inside run()") {
    TestLoop loop;
    const auto loop_thread = std::this_thread::get_id();
    std::vector<int> worked, reported;
    std::mutex mu;
    std::thread::id work_thread;
    bool after_on_loop = true;
    {
        CpuThread cpu(loop.get());
        for (int i = 0; i < 50; ++i)
            cpu.run(
                [&, i] {
                    std::lock_guard lock(mu);
                    work_thread = std::this_thread::get_id();
                    worked.push_back(i);
                },
                [&, i] {
                    after_on_loop = after_on_loop && std::this_thread::get_id() == loop_thread;
                    reported.push_back(i);
                });
        CHECK(reported.empty());
        CHECK(cpu.outstanding() == 50);
        REQUIRE(loop.run_until([&] { return reported.size() == 50; }));
        CHECK(cpu.outstanding() == 0);
    }
    std::vector<int> expected;
    for (int i = 0; i < 50; ++i) expected.push_back(i);
    CHECK(worked == expected);     // FIFO: a job may rely on the one before it
    CHECK(reported == expected);
    CHECK(work_thread != loop_thread);
    CHECK(after_on_loop);
}

TEST_CASE("cpu thread: an after() may post the next job") {
    TestLoop loop;
    CpuThread cpu(loop.get());
    int rounds = 0;
    std::function<void()> next = [&] {
        if (++rounds < 5) cpu.run([] {}, next);
    };
    cpu.run([] {}, next);
    REQUIRE(loop.run_until([&] { return rounds == 5; }));
    CHECK(cpu.outstanding() == 0);
}

TEST_CASE("cpu thread: an idle thread lets the loop end; outstanding jobs keep it running") {
    TestLoop loop;
    CpuThread cpu(loop.get());
    CHECK(uv_run(loop.get(), UV_RUN_DEFAULT) == 0);   // nothing posted: returns at once
    bool done = false;
    cpu.run([] { std::this_thread::sleep_for(std::chrono::milliseconds(50)); }, [&] { done = true; });
    uv_run(loop.get(), UV_RUN_DEFAULT);   // returns only once the job has reported back
    CHECK(done);
    cpu.run([] {}, [] {});                // the thread is reused after a quiet spell
    uv_run(loop.get(), UV_RUN_DEFAULT);
    CHECK(cpu.outstanding() == 0);
}

TEST_CASE("cpu thread: destruction waits for the running job, drops the rest and their afters") {
    TestLoop loop;
    std::atomic<bool> started{false}, release{false};
    std::atomic<int> ran{0};
    int reported = 0;
    auto token = std::make_shared<int>(0);
    std::thread releaser;
    {
        CpuThread cpu(loop.get());
        cpu.run(
            [&] {
                started = true;
                while (!release) std::this_thread::yield();
                ++ran;
            },
            [&] { ++reported; });
        for (int i = 0; i < 3; ++i) cpu.run([&, token] { ++ran; }, [&, token] { ++reported; });
        while (!started) std::this_thread::yield();
        releaser = std::thread([&] {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            release = true;
        });
    }   // joins: the first job finishes, the three queued ones never run
    releaser.join();
    CHECK(ran == 1);
    CHECK(token.use_count() == 1);   // the dropped jobs' captures are released
    loop.run_for(50);
    CHECK(reported == 0);
}

TEST_CASE("cpu thread: post() runs in order with run() jobs, without after, outstanding or a loop wake-up") {
    TestLoop loop;
    const auto loop_thread = std::this_thread::get_id();
    std::vector<int> order;   // written on the CPU thread only, read after the last run() reported
    std::atomic<bool> freed_off_loop{false};
    struct Probe {   // a capture that records where it is freed
        std::thread::id loop;
        std::atomic<bool>* flag;
        ~Probe() {
            if (flag) *flag = std::this_thread::get_id() != loop;
        }
    };
    bool reported = false;
    std::atomic<bool> go{false};
    {
        CpuThread cpu(loop.get());
        cpu.post([&] {
            while (!go) std::this_thread::yield();   // holds the thread until the loop is ready
            order.push_back(1);
        });
        CHECK(cpu.outstanding() == 0);
        CHECK(uv_run(loop.get(), UV_RUN_NOWAIT) == 0);   // a post() does not keep the loop alive
        auto probe = std::make_shared<Probe>(loop_thread, &freed_off_loop);
        cpu.post([&, probe] { order.push_back(2); });
        probe.reset();   // the job holds the last reference
        go = true;
        cpu.run([&] { order.push_back(3); }, [&] { reported = true; });
        cpu.post([&] { order.push_back(4); });
        CHECK(cpu.outstanding() == 1);
        REQUIRE(loop.run_until([&] { return reported; }));
        CHECK(cpu.outstanding() == 0);
    }   // joins: the last post() has run or is dropped
    CHECK(order.size() >= 3);
    order.resize(3);
    CHECK(order == std::vector<int>{1, 2, 3});
    CHECK(freed_off_loop);   // the post() job's captures were freed on the CPU thread
}

TEST_CASE("cpu thread: destruction drops queued post() jobs and frees their captures") {
    TestLoop loop;
    std::atomic<bool> started{false}, release{false};
    std::atomic<int> ran{0};
    auto token = std::make_shared<int>(0);
    std::thread releaser;
    {
        CpuThread cpu(loop.get());
        cpu.post([&] {
            started = true;
            while (!release) std::this_thread::yield();
        });
        for (int i = 0; i < 3; ++i) cpu.post([&, token] { ++ran; });
        while (!started) std::this_thread::yield();
        releaser = std::thread([&] {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            release = true;
        });
    }
    releaser.join();
    CHECK(ran == 0);
    CHECK(token.use_count() == 1);
}

}  // namespace ASMTPD_TEST_UNIT

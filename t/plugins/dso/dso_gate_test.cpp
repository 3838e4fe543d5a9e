// dso_gate_test.cpp - tests plugins/dso/dso_gate.cpp: the FIFO in front of the thread pool,
// its cap on calls in flight, and how abandoned calls wedge and unwedge it.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <uv.h>

#include "plugins/dso/dso_gate.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using asmtpd::plugins::dso::Gate;

namespace {

struct Loop {
    uv_loop_t loop{};
    Loop() { REQUIRE(uv_loop_init(&loop) == 0); }
    ~Loop() {
        uv_run(&loop, UV_RUN_DEFAULT);
        CHECK(uv_loop_close(&loop) == 0);
    }
};

}  // namespace

TEST_CASE("dso gate: limit 1 runs entries one at a time, in submission order") {
    Loop l;
    auto gate = Gate::create(1);
    std::atomic<int> inside{0}, most{0};
    std::mutex m;
    std::vector<int> order, after_order;
    for (int i = 0; i < 5; ++i) {
        Gate::Entry e;
        e.reactor = asmtpd::io::Reactor(&l.loop);
        e.work = [&, i] {
            int now = ++inside;
            int seen = most.load();
            while (now > seen && !most.compare_exchange_weak(seen, now)) {
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
            {
                std::lock_guard<std::mutex> g(m);
                order.push_back(i);
            }
            --inside;
        };
        e.after = [&, i] { after_order.push_back(i); };
        e.busy = [] { FAIL("busy on a healthy gate"); };
        CHECK(gate->submit(std::move(e)));
    }
    CHECK(gate->running() == 1);
    CHECK(gate->queued() == 4);
    uv_run(&l.loop, UV_RUN_DEFAULT);
    CHECK(most.load() == 1);
    CHECK(order == std::vector<int>{0, 1, 2, 3, 4});
    CHECK(after_order == order);
    CHECK(gate->running() == 0);
    CHECK(gate->queued() == 0);
}

TEST_CASE("dso gate: limit 3 lets three run at once, never four") {
    Loop l;
    auto gate = Gate::create(3);
    std::atomic<int> inside{0}, most{0};
    for (int i = 0; i < 8; ++i) {
        Gate::Entry e;
        e.reactor = asmtpd::io::Reactor(&l.loop);
        e.work = [&] {
            int now = ++inside;
            int seen = most.load();
            while (now > seen && !most.compare_exchange_weak(seen, now)) {
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(30));
            --inside;
        };
        CHECK(gate->submit(std::move(e)));
    }
    CHECK(gate->running() == 3);
    uv_run(&l.loop, UV_RUN_DEFAULT);
    CHECK(most.load() <= 3);
    CHECK(most.load() >= 2);   // the pool has 4 threads: they did overlap
}

TEST_CASE("dso gate: a stuck call wedges a limit-1 gate; queued entries get busy; it recovers") {
    Loop l;
    auto gate = Gate::create(1);
    std::atomic<bool> release{false};
    bool first_after = false;
    int busy = 0, second_after = 0;
    Gate::Entry stuck;
    stuck.reactor = asmtpd::io::Reactor(&l.loop);
    stuck.work = [&] {
        while (!release.load()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    };
    stuck.after = [&] {
        first_after = true;
        gate->abandoned_returned();
    };
    REQUIRE(gate->submit(std::move(stuck)));
    for (int i = 0; i < 2; ++i) {
        Gate::Entry e;
        e.reactor = asmtpd::io::Reactor(&l.loop);
        e.work = [] {};
        e.after = [&] { ++second_after; };
        e.busy = [&] { ++busy; };
        REQUIRE(gate->submit(std::move(e)));
    }
    CHECK(gate->queued() == 2);
    CHECK_FALSE(gate->wedged());
    gate->abandon();   // the deadline of the running call
    CHECK(gate->wedged());
    CHECK(busy == 2);
    CHECK(gate->queued() == 0);
    CHECK(gate->abandoned_total() == 1);
    Gate::Entry refused;
    refused.reactor = asmtpd::io::Reactor(&l.loop);
    refused.work = [] {};
    CHECK_FALSE(gate->submit(std::move(refused)));
    release = true;
    uv_run(&l.loop, UV_RUN_DEFAULT);
    CHECK(first_after);
    CHECK(second_after == 0);   // flushed entries never ran
    CHECK_FALSE(gate->wedged());
    CHECK(gate->running() == 0);
    Gate::Entry again;
    again.reactor = asmtpd::io::Reactor(&l.loop);
    again.work = [] {};
    again.after = [&] { ++second_after; };
    CHECK(gate->submit(std::move(again)));
    uv_run(&l.loop, UV_RUN_DEFAULT);
    CHECK(second_after == 1);
}

TEST_CASE("dso gate: one gate per dlopen handle, dropped with its last user") {
    int a = 0, b = 0;
    auto g1 = Gate::for_handle(&a);
    auto g2 = Gate::for_handle(&a);
    auto g3 = Gate::for_handle(&b);
    CHECK(g1 == g2);
    CHECK(g1 != g3);
    CHECK(g1->limit() == 1);
    std::weak_ptr<Gate> w = g1;
    g1.reset();
    g2.reset();
    CHECK(w.expired());
    auto g4 = Gate::for_handle(&a);
    CHECK(g4 != nullptr);
}

}  // namespace ASMTPD_TEST_UNIT

// child_runner_test.cpp - the ChildRunner around the children: spawn failures as results,
// cancel, the FIFO cap, teardown, no zombies, and rlimits/credentials reaching the program.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>
#include "core/io/child_process.hpp"
#include "core/io/spool.hpp"
#include "t/core/io/test_loop.hpp"
#include "t/core/io/child_test_support.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::io;
using namespace asmtpd::io::test::child;
using asmtpd::io::test::TestLoop;
using asmtpd::io::test::pattern;

TEST_CASE("child: spawn failures are results, delivered later") {
    TestLoop loop;
    TempDir dir;
    ChildRunner runner(loop.get(), 4);
    ChildSpec missing;
    missing.program = "/nonexistent/asmtpd-qq";
    auto r = run_one(loop, runner, missing);
    CHECK_FALSE(r.spawned);
    CHECK(r.error.find("ENOENT") != std::string::npos);
    CHECK(r.pid == 0);

    const std::string plain = dir.path + "/not-executable";
    { std::ofstream(plain) << "#!/bin/sh\nexit 0\n"; }
    ::chmod(plain.c_str(), 0644);
    ChildSpec noexec;
    noexec.program = plain;
    r = run_one(loop, runner, noexec);
    CHECK_FALSE(r.spawned);
    CHECK(r.error.find("EACCES") != std::string::npos);

    ChildSpec clash = sh("exit 0");
    clash.output_fds.push_back(2);   // stderr is always ours
    r = run_one(loop, runner, clash);
    CHECK_FALSE(r.spawned);
    CHECK(r.error.find("EINVAL") != std::string::npos);
    ChildSpec twice = sh("exit 0");
    twice.input_fds.push_back({5, "x"});
    twice.output_fds.push_back(5);
    r = run_one(loop, runner, twice);
    CHECK_FALSE(r.spawned);
    ChildSpec empty;
    r = run_one(loop, runner, empty);
    CHECK_FALSE(r.spawned);

    // A failed spawn frees its slot at once: the next queued request runs.
    runner.set_max_running(1);
    std::vector<int> order;
    auto h1 = runner.run(missing, [&](ChildResult) { order.push_back(1); });
    auto h2 = runner.run(sh("exit 0"), [&](ChildResult res) { order.push_back(res.exit_status == 0 ? 2 : -2); });
    CHECK(order.empty());
    REQUIRE(loop.run_until([&] { return order.size() == 2; }));
    CHECK(order == std::vector<int>{1, 2});
    CHECK(runner.running() == 0);
}

TEST_CASE("child: cancel kills the group and the callback never runs") {
    TestLoop loop;
    ChildRunner runner(loop.get(), 4);
    bool called = false;
    ChildSpec s = sh("sleep 100 & sleep 100");
    s.stdin_data = std::string(1 << 20, 'i');   // a write still pending when we cancel
    ChildHandle h = runner.run(s, [&](ChildResult) { called = true; });
    REQUIRE(h.active());
    int pid = h.pid();
    REQUIRE(pid > 0);
    CHECK(runner.running() == 1);
    loop.run_for(100);
    h.cancel();
    CHECK_FALSE(h.active());
    h.cancel();   // twice is harmless
    CHECK(loop.run_until([&] { return pid_gone(pid); }, 3000));
    CHECK(loop.run_until([&] { return runner.running() == 0; }, 3000));
    loop.run_for(100);
    CHECK_FALSE(called);

    // Dropping the handle is a cancel too; so is cancelling a queued request.
    runner.set_max_running(1);
    int pid2 = 0;
    {
        ChildHandle a = runner.run(sh("sleep 100"), [&](ChildResult) { called = true; });
        ChildHandle b = runner.run(sh("exit 0"), [&](ChildResult) { called = true; });
        pid2 = a.pid();
        CHECK(runner.queued() == 1);
        CHECK(b.pid() == 0);
        b.cancel();
        CHECK(runner.queued() == 0);
    }
    CHECK(loop.run_until([&] { return pid_gone(pid2); }, 3000));
    loop.run_for(50);
    CHECK_FALSE(called);
    CHECK(runner.running() == 0);

    // A Done callback may drop its own handle and start the next child.
    std::optional<ChildHandle> self;
    std::optional<ChildHandle> next;
    int next_status = -1;
    self = runner.run(sh("exit 2"), [&](ChildResult r) {
        CHECK(r.exit_status == 2);
        self.reset();
        next = runner.run(sh("exit 9"), [&](ChildResult r2) { next_status = static_cast<int>(r2.exit_status); });
    });
    REQUIRE(loop.run_until([&] { return next_status != -1; }));
    CHECK(next_status == 9);
}

TEST_CASE("child: FIFO cap; queue time counts against the timeout") {
    TestLoop loop;
    ChildRunner runner(loop.get(), 2);
    std::vector<int> done_order;
    std::vector<ChildHandle> handles;
    auto t0 = now_ms();
    for (int i = 0; i < 6; ++i)
        handles.push_back(runner.run(sh("sleep 0.2"), [&, i](ChildResult r) {
            CHECK(r.exit_status == 0);
            done_order.push_back(i);
        }));
    CHECK(runner.running() == 2);
    CHECK(runner.queued() == 4);
    CHECK(runner.started() == 2);   // queued ones are not started yet (asmtpd_children_spawned_total)
    REQUIRE(loop.run_until([&] { return done_order.size() == 6; }, 10000));
    CHECK(runner.started() == 6);
    auto took = now_ms() - t0;
    CHECK(took >= 550);   // three rounds of two
    CHECK(runner.peak_running() == 2);
    CHECK(runner.running() == 0);
    CHECK(runner.queued() == 0);
    // Pairs start together; a later pair never finishes before an earlier one started.
    for (std::size_t k = 0; k < done_order.size(); ++k) CHECK(done_order[k] / 2 == static_cast<int>(k / 2));

    runner.set_max_running(1);
    std::optional<ChildResult> first, second;
    auto h1 = runner.run(sh("sleep 0.5"), [&](ChildResult r) { first = std::move(r); });
    ChildSpec impatient = sh("exit 0");
    impatient.timeout_ms = 150;
    auto h2 = runner.run(impatient, [&](ChildResult r) { second = std::move(r); });
    REQUIRE(loop.run_until([&] { return first && second; }, 5000));
    CHECK(second->timed_out);
    CHECK_FALSE(second->spawned);
    CHECK(second->error.find("free slot") != std::string::npos);
    CHECK(first->exit_status == 0);
    CHECK_FALSE(first->timed_out);
}

TEST_CASE("child: destroying the runner kills, reaps and drops every callback") {
    TestLoop loop;
    bool called = false;
    std::vector<ChildHandle> handles;
    std::vector<int> pids;
    {
        ChildRunner runner(loop.get(), 2);
        for (int i = 0; i < 3; ++i) {
            ChildSpec s = sh("sleep 100 & sleep 100");
            s.stdin_data = "x";
            handles.push_back(runner.run(s, [&](ChildResult) { called = true; }));
        }
        // A request whose only handle lives in its own callback (the plugin pattern).
        auto holder = std::make_shared<std::optional<ChildHandle>>();
        *holder = runner.run(sh("sleep 100"), [holder, &called](ChildResult) { called = true; });
        for (auto& h : handles)
            if (h.pid() > 0) pids.push_back(h.pid());
        CHECK(pids.size() == 2);
        CHECK(runner.queued() == 2);
        loop.run_for(50);
    }
    for (int pid : pids) CHECK(pid_gone(pid));   // reaped before the destructor returned
    for (auto& h : handles) h.cancel();           // after the runner: harmless
    loop.run_for(100);
    CHECK_FALSE(called);
    // The runner was never used: nothing to do, and no uv call before a loop exists.
    { ChildRunner unused(nullptr, 4); }
}

TEST_CASE("child: no zombies left behind") {
    // Runs last in this file; every test above must have reaped what it started.
    TestLoop loop;
    loop.run_for(100);
    auto z = our_zombies();
    CHECK_MESSAGE(z.empty(), "zombie children: " << z.size());
}

TEST_CASE("child: rlimits and credentials reach the program") {
    TestLoop loop;
    ChildRunner runner(loop.get(), 2);
    ChildSpec spec = sh("ulimit -t; id -u");
    spec.limits.cpu_seconds = 3;
    if (::geteuid() == 0) spec.run_as = SpawnCredentials{65534, 65534};
    auto r = run_one(loop, runner, spec);
    REQUIRE(r.spawned);
    CHECK(r.exit_status == 0);
    CHECK(r.out == (::geteuid() == 0 ? "3\n65534\n" : "3\n" + std::to_string(::geteuid()) + "\n"));

    // A credential change that is not allowed is a spawn failure naming the step, not a crash.
    if (::geteuid() != 0) {
        ChildSpec denied = sh("exit 0");
        denied.run_as = SpawnCredentials{0, 0};
        auto d = run_one(loop, runner, denied);
        CHECK_FALSE(d.spawned);
        CHECK(d.error.find("EPERM") != std::string::npos);
        CHECK(d.error.find("setgroups") != std::string::npos);
    }
}

}  // namespace ASMTPD_TEST_UNIT

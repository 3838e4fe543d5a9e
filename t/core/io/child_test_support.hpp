// child_test_support.hpp - what the child process tests share: a /bin/sh ChildSpec, running
// one child to completion on a TestLoop, and checks that nothing is left behind (zombies, pids).
// Header-only: CMake compiles only *_test.cpp.
#pragma once

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

namespace asmtpd::io::test::child {

using asmtpd::io::test::TestLoop;

inline ChildSpec sh(const std::string& script) {
    ChildSpec s;
    s.program = "/bin/sh";
    s.args = {"-c", script};
    s.env = {"PATH=/usr/bin:/bin"};
    s.timeout_ms = 10000;
    return s;
}

// Runs one child to completion on loop; fails the test if it takes longer than max_ms.
inline ChildResult run_one(TestLoop& loop, ChildRunner& runner, ChildSpec spec, std::uint64_t max_ms = 10000) {
    std::optional<ChildResult> got;
    int calls = 0;
    ChildHandle h = runner.run(std::move(spec), [&](ChildResult r) {
        ++calls;
        got = std::move(r);
    });
    CHECK_FALSE(got.has_value());   // never from inside run()
    REQUIRE(loop.run_until([&] { return got.has_value(); }, max_ms));
    CHECK(calls == 1);
    CHECK_FALSE(h.active());
    return std::move(*got);
}

inline bool pid_gone(int pid) { return pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH; }

// Gone, or a zombie reparented away from us (a grandchild: init reaps it, not we).
inline bool pid_dead(int pid) {
    if (pid_gone(pid)) return true;
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    auto close = stat.rfind(')');
    return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z';
}

// Zombie processes whose parent is this test process.
inline std::vector<int> our_zombies() {
    std::vector<int> out;
    const std::string me = std::to_string(::getpid());
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
        std::string name = e.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        std::ifstream f(e.path() / "stat");
        std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        auto close = stat.rfind(')');
        if (close == std::string::npos || close + 4 >= stat.size()) continue;
        // after ") ": state, space, ppid
        char state = stat[close + 2];
        std::string rest = stat.substr(close + 4);
        std::string ppid = rest.substr(0, rest.find(' '));
        if (state == 'Z' && ppid == me) out.push_back(std::stoi(name));
    }
    return out;
}

inline std::uint64_t now_ms() {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::steady_clock::now().time_since_epoch())
                                          .count());
}

struct TempDir {
    TempDir() {
        char tmpl[] = "/tmp/asmtpd-child-XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        path = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    std::string path;
};

inline std::string slurp(const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

inline std::shared_ptr<Spool> file_spool(TestLoop& loop, const std::string& dir, const std::string& body) {
    auto spool = Spool::create(loop.get(), dir, 4096);
    for (std::size_t off = 0; off < body.size(); off += 100000) spool->append(std::string_view(body).substr(off, 100000));
    bool finished = false, ok = false;
    spool->finish([&](bool good) {
        finished = true;
        ok = good;
    });
    REQUIRE(loop.run_until([&] { return finished; }, 20000));
    REQUIRE(ok);
    REQUIRE(spool->in_file());
    REQUIRE(spool->size() == body.size());
    return spool;
}

}  // namespace asmtpd::io::test::child

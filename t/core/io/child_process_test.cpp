// child_process_test.cpp - tests core/io/child_process.cpp with real programs (/bin/sh -c ...):
// exit codes, signals, output capture and caps, stderr lines, timeouts and group kills, and a
// grandchild that holds stdout. Input and fds: child_input_test.cpp; the runner: child_runner_test.cpp.
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

TEST_CASE("child: exit codes, pid, and an explicit environment") {
    TestLoop loop;
    ChildRunner runner(loop.get(), 4);
    auto r = run_one(loop, runner, sh("exit 0"));
    CHECK(r.spawned);
    CHECK(r.error.empty());
    CHECK(r.exit_status == 0);
    CHECK(r.term_signal == 0);
    CHECK(r.pid > 0);
    CHECK_FALSE(r.timed_out);
    CHECK_FALSE(r.truncated);
    CHECK_FALSE(r.input_failed);

    for (int code : {1, 7, 82, 111, 255}) {
        CAPTURE(code);
        r = run_one(loop, runner, sh("exit " + std::to_string(code)));
        CHECK(r.exit_status == code);
        CHECK(r.term_signal == 0);
    }

    // Exactly the given environment, nothing of ours.
    ::setenv("ASMTPD_CHILD_TEST_SECRET", "leak", 1);
    ChildSpec env;
    env.program = "/usr/bin/env";
    env.env = {"A=1", "B=two words", "C="};
    r = run_one(loop, runner, env);
    CHECK(r.out == "A=1\nB=two words\nC=\n");
    env.env.clear();
    r = run_one(loop, runner, env);
    CHECK(r.exit_status == 0);
    CHECK(r.out.empty());
    ::unsetenv("ASMTPD_CHILD_TEST_SECRET");

    // cwd, and argv passed verbatim (no shell in between).
    ChildSpec pwd = sh("pwd; printf '[%s]' \"$0\" \"$1\"");
    pwd.args.push_back("zero; rm -rf /");
    pwd.args.push_back("$HOME `x`");
    pwd.cwd = "/";
    r = run_one(loop, runner, pwd);
    CHECK(r.out == "/\n[zero; rm -rf /][$HOME `x`]");
    CHECK(runner.running() == 0);
}

TEST_CASE("child: death by signal") {
    TestLoop loop;
    ChildRunner runner(loop.get(), 4);
    auto r = run_one(loop, runner, sh("kill -KILL $$; exit 3"));
    CHECK(r.spawned);
    CHECK(r.term_signal == SIGKILL);
    CHECK(r.exit_status == -1);
    r = run_one(loop, runner, sh("kill -SEGV $$"));
    CHECK(r.term_signal == SIGSEGV);
}

TEST_CASE("child: stdout capture is byte-exact and capped") {
    TestLoop loop;
    ChildRunner runner(loop.get(), 4);
    auto r = run_one(loop, runner, sh("printf 'a\\000b\\r\\nc'"));
    CHECK(r.out == std::string("a\0b\r\nc", 6));
    CHECK_FALSE(r.truncated);

    // Exactly at the limit is not truncated.
    ChildSpec exact = sh("printf 12345");
    exact.stdout_limit = 5;
    r = run_one(loop, runner, exact);
    CHECK(r.out == "12345");
    CHECK_FALSE(r.truncated);
    CHECK(r.exit_status == 0);

    // An endless writer is killed at the cap.
    ChildSpec yes;
    yes.program = "/usr/bin/yes";
    yes.stdout_limit = 100000;
    r = run_one(loop, runner, yes);
    CHECK(r.truncated);
    CHECK(r.out.size() == 100000);
    CHECK(r.out.substr(0, 6) == "y\ny\ny\n");
    CHECK(r.out.find_first_not_of("y\n") == std::string::npos);
    CHECK(r.term_signal == SIGKILL);
    CHECK(pid_gone(r.pid));

    // stdout not captured: the child's fd 1 is /dev/null and writing to it is fine.
    ChildSpec quiet = sh("echo hi; test -c /proc/self/fd/1 && exit 5");
    quiet.capture_stdout = false;
    r = run_one(loop, runner, quiet);
    CHECK(r.out.empty());
    CHECK(r.exit_status == 5);
}

TEST_CASE("child: stderr arrives as lines, CR stripped, long lines cut") {
    TestLoop loop;
    ChildRunner runner(loop.get(), 4);
    std::vector<std::string> lines;
    ChildSpec s = sh("printf 'one\\ntwo\\r\\n\\nabcdefghijklmnop\\n\\001ctl\\nno newline' >&2; echo out");
    s.stderr_line_limit = 10;
    s.on_stderr = [&](std::string_view l) { lines.emplace_back(l); };
    auto r = run_one(loop, runner, s);
    CHECK(r.out == "out\n");
    REQUIRE(lines.size() == 6);
    CHECK(lines[0] == "one");
    CHECK(lines[1] == "two");
    CHECK(lines[2] == "");
    CHECK(lines[3] == "abcdefghij");
    CHECK(lines[4] == "\001ctl");
    CHECK(lines[5] == "no newline");   // cut at the limit, emitted at EOF
    // Without a callback stderr is drained and dropped; a noisy child still finishes.
    r = run_one(loop, runner, sh("head -c 300000 /dev/zero >&2; exit 4"));
    CHECK(r.exit_status == 4);
}

TEST_CASE("child: timeout sends SIGTERM to the group, SIGKILL if ignored") {
    TestLoop loop;
    ChildRunner runner(loop.get(), 4);
    ChildSpec s;
    s.program = "/bin/sleep";
    s.args = {"100"};
    s.timeout_ms = 200;
    auto t0 = now_ms();
    auto r = run_one(loop, runner, s, 5000);
    auto took = now_ms() - t0;
    CHECK(r.timed_out);
    CHECK(r.term_signal == SIGTERM);
    CHECK(took >= 150);
    CHECK(took < 1500);
    CHECK(pid_gone(r.pid));

    // A group that ignores SIGTERM (sh and its sleep) is SIGKILLed 2 s later, all of it.
    ChildSpec stubborn = sh("trap '' TERM; sleep 100 & echo $!; wait");
    stubborn.timeout_ms = 300;
    t0 = now_ms();
    r = run_one(loop, runner, stubborn, 8000);
    took = now_ms() - t0;
    CHECK(r.timed_out);
    CHECK(r.term_signal == SIGKILL);
    CHECK(took >= 2200);
    CHECK(took < 5000);
    int grandchild = std::atoi(r.out.c_str());
    CHECK(grandchild > 0);
    CHECK(loop.run_until([&] { return pid_dead(grandchild); }, 2000));
}

TEST_CASE("child: a grandchild holding stdout does not hold the run past eof_grace") {
    TestLoop loop;
    ChildRunner runner(loop.get(), 4);
    ChildSpec s = sh("sleep 100 & echo $!; exit 6");
    s.eof_grace_ms = 200;
    auto t0 = now_ms();
    auto r = run_one(loop, runner, s, 5000);
    auto took = now_ms() - t0;
    CHECK(r.exit_status == 6);
    CHECK_FALSE(r.timed_out);
    CHECK(took >= 150);
    CHECK(took < 2000);
    int grandchild = std::atoi(r.out.c_str());
    REQUIRE(grandchild > 0);
    CHECK(loop.run_until([&] { return pid_dead(grandchild); }, 2000));
    CHECK(pid_gone(r.pid));

    // Same through stderr only (stdout closed early by the grandchild redirect).
    ChildSpec e = sh("sleep 100 >/dev/null & echo $! >&2; exit 0");
    e.eof_grace_ms = 100;
    std::string pid_line;
    e.on_stderr = [&](std::string_view l) { pid_line = std::string(l); };
    r = run_one(loop, runner, e, 5000);
    CHECK(r.exit_status == 0);
    int g2 = std::atoi(pid_line.c_str());
    REQUIRE(g2 > 0);
    CHECK(loop.run_until([&] { return pid_dead(g2); }, 2000));
}

}  // namespace ASMTPD_TEST_UNIT

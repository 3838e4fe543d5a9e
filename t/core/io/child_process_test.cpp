// child_process_test.cpp - tests core/io/child_process.cpp with real programs (/bin/sh -c ...):
// exit codes, signals, output capture and caps, stderr lines, timeouts and group kills, stdin
// from strings and from a 20 MB file spool, extra fds, spawn failures, cancel, the FIFO cap,
// runner teardown, and that nothing is left behind (no zombies, no stray processes).
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

using namespace asmtpd::io;
using asmtpd::io::test::TestLoop;
using asmtpd::io::test::pattern;

namespace {

ChildSpec sh(const std::string& script) {
    ChildSpec s;
    s.program = "/bin/sh";
    s.args = {"-c", script};
    s.env = {"PATH=/usr/bin:/bin"};
    s.timeout_ms = 10000;
    return s;
}

// Runs one child to completion on loop; fails the test if it takes longer than max_ms.
ChildResult run_one(TestLoop& loop, ChildRunner& runner, ChildSpec spec, std::uint64_t max_ms = 10000) {
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

bool pid_gone(int pid) { return pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH; }

// Gone, or a zombie reparented away from us (a grandchild: init reaps it, not we).
bool pid_dead(int pid) {
    if (pid_gone(pid)) return true;
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    auto close = stat.rfind(')');
    return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z';
}

// Zombie processes whose parent is this test process.
std::vector<int> our_zombies() {
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

std::uint64_t now_ms() {
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

std::string slurp(const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

std::shared_ptr<Spool> file_spool(TestLoop& loop, const std::string& dir, const std::string& body) {
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

}  // namespace

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

TEST_CASE("child: stdin_data is written then closed") {
    TestLoop loop;
    ChildRunner runner(loop.get(), 4);
    ChildSpec s;
    s.program = "/bin/cat";
    s.stdin_data = pattern(300000, 3);   // more than a socket buffer; every byte value
    s.stdout_limit = 1 << 20;
    auto r = run_one(loop, runner, s);
    CHECK(r.exit_status == 0);
    CHECK_FALSE(r.input_failed);
    CHECK(r.out.size() == s.stdin_data.size());
    CHECK(r.out == s.stdin_data);

    // No input: stdin is /dev/null (EOF at once), not an inherited descriptor.
    r = run_one(loop, runner, sh("cat; test -c /proc/self/fd/0 && echo devnull"));
    CHECK(r.out == "devnull\n");
}

TEST_CASE("child: stdin streamed from a 20 MB file spool, prefix first, byte-exact") {
    TestLoop loop;
    TempDir dir;
    ChildRunner runner(loop.get(), 4);
    const std::string body = pattern(20 * 1024 * 1024, 9);
    auto spool = file_spool(loop, dir.path, body);

    ChildSpec count = sh("wc -c");
    count.stdin_spool = spool;
    auto r = run_one(loop, runner, count, 30000);
    CHECK(r.exit_status == 0);
    CHECK_FALSE(r.input_failed);
    CHECK(std::atoll(r.out.c_str()) == static_cast<long long>(body.size()));

    const std::string out = dir.path + "/copy";
    ChildSpec copy = sh("cat > \"$OUT\"");
    copy.env.push_back("OUT=" + out);
    copy.stdin_data = "Received: by test\r\n";
    copy.stdin_spool = spool;
    r = run_one(loop, runner, copy, 30000);
    CHECK(r.exit_status == 0);
    CHECK_FALSE(r.input_failed);
    std::string got = slurp(out);
    CHECK(got.size() == copy.stdin_data.size() + body.size());
    CHECK((got == copy.stdin_data + body));

    // An in-memory spool goes the same way.
    auto small = Spool::create(loop.get(), dir.path, 1 << 20);
    small->append("in memory\n");
    ChildSpec mem;
    mem.program = "/bin/cat";
    mem.stdin_spool = small;
    r = run_one(loop, runner, mem);
    CHECK(r.out == "in memory\n");
    // An empty spool and no data: the child gets EOF at once.
    auto empty = Spool::create(loop.get(), dir.path, 1 << 20);
    mem.stdin_spool = empty;
    r = run_one(loop, runner, mem);
    CHECK(r.out.empty());
    CHECK(r.exit_status == 0);
}

TEST_CASE("child: a child that does not read its input gives input_failed, not a crash") {
    TestLoop loop;
    TempDir dir;
    ChildRunner runner(loop.get(), 4);
    ChildSpec s = sh("exit 3");
    s.stdin_data = std::string(4 * 1024 * 1024, 'x');
    auto r = run_one(loop, runner, s);
    CHECK(r.exit_status == 3);
    CHECK(r.input_failed);

    // Reads a little, then stops: the rest of a file spool cannot be written.
    ChildSpec half = sh("head -c 1000 >/dev/null; exit 0");
    half.stdin_spool = file_spool(loop, dir.path, pattern(8 * 1024 * 1024, 2));
    r = run_one(loop, runner, half, 20000);
    CHECK(r.exit_status == 0);
    CHECK(r.input_failed);
}

TEST_CASE("child: input fd 1 (qmail-queue envelope) and output fd 6; other fds closed") {
    TestLoop loop;
    ChildRunner runner(loop.get(), 4);
    // An fd of ours without O_CLOEXEC must not reach the child.
    int leaky = ::open("/dev/null", O_RDONLY);
    REQUIRE(leaky >= 3);
    ChildSpec s = sh("cat <&1 >&6; for f in 0 1 2 3 4 5 6 7 8 9 $LEAKY; do [ -e /proc/$$/fd/$f ] && echo $f >&2; done; printf 'Zsorry' >&6; exit 82");
    s.capture_stdout = false;
    s.env.push_back("LEAKY=" + std::to_string(leaky));
    s.stdin_data = "message body\n";
    const std::string envelope("Fa@b.example\0Tc@d.example\0\0", 27);
    s.input_fds.push_back({1, envelope});
    s.output_fds.push_back(6);
    std::vector<std::string> err;
    s.on_stderr = [&](std::string_view l) { err.emplace_back(l); };
    auto r = run_one(loop, runner, s);
    ::close(leaky);
    CHECK(r.exit_status == 82);
    CHECK_FALSE(r.input_failed);
    CHECK(r.out.empty());
    REQUIRE(r.extra_out.size() == 1);
    CHECK(r.extra_out[0] == envelope + "Zsorry");
    // The leaky fd and libuv's internals stayed behind.
    std::string listed;
    for (const auto& l : err) listed += l + " ";
    CHECK(listed == "0 1 2 6 ");
}

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
    REQUIRE(loop.run_until([&] { return done_order.size() == 6; }, 10000));
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

// spawn_test.cpp - tests core/io/spawn.cpp with real programs: what the child starts with (fd
// table, signal dispositions and mask, session, cwd, environment), both straight from
// posix_spawn and through the asmtpd-exec helper (rlimits, and as root another uid/gid), sources
// that collide with target fds, failures reported with the step that failed and nothing left to
// reap, PATH resolution.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "core/io/exec_helper.hpp"
#include "core/io/spawn.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::io;

namespace {

struct Ran {
    SpawnResult start;
    std::string out;
    int status = -1;
};

// Runs /bin/sh -c script with stdout on a pipe (child fd 1); extra: more fds for the child.
Ran run_sh(const std::string& script, SpawnPlan plan = {}, std::vector<std::string> env = {"PATH=/usr/bin:/bin"}) {
    int out[2];
    REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
    std::string sh = "/bin/sh", c = "-c", text = script;
    char* argv[] = {sh.data(), c.data(), text.data(), nullptr};
    std::vector<char*> envp;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    plan.path = "/bin/sh";
    plan.argv = argv;
    plan.envp = envp.data();
    if (plan.fds.size() < 3) plan.fds.resize(3, -1);
    plan.fds[1] = out[1];
    Ran r;
    r.start = spawn_program(plan);
    ::close(out[1]);
    char buf[4096];
    ssize_t n;
    while ((n = ::read(out[0], buf, sizeof buf)) > 0) r.out.append(buf, static_cast<std::size_t>(n));
    ::close(out[0]);
    if (r.start.pid > 0) REQUIRE(::waitpid(r.start.pid, &r.status, 0) == r.start.pid);
    return r;
}

std::string status_field(const std::string& status, const std::string& name) {
    auto at = status.find(name + ":");
    if (at == std::string::npos) return "";
    auto start = status.find_first_not_of(" \t", at + name.size() + 1);
    return status.substr(start, status.find('\n', start) - start);
}

}  // namespace

TEST_CASE("spawn: exit status, argv and exactly the given environment") {
    auto r = run_sh("printf '%s|%s|' \"$FOO\" \"$HOME\"; exit 7", {}, {"FOO=bar baz", "PATH=/bin"});
    REQUIRE(r.start.pid > 0);
    CHECK(r.out == "bar baz||");
    REQUIRE(WIFEXITED(r.status));
    CHECK(WEXITSTATUS(r.status) == 7);
}

TEST_CASE("spawn: the child owns a new session, has no server fds, default signals, empty mask") {
    SpawnPlan plan;
    SUBCASE("posix_spawn") {}
    SUBCASE("through asmtpd-exec") { plan.limits.cpu_seconds = 100; }
    // Make the parent's state as hostile as the daemon's: SIGPIPE ignored, a SIGUSR1 handler,
    // SIGUSR2 blocked, and a stray fd without close-on-exec.
    struct sigaction ign {}, old_pipe {}, handler {}, old_usr1 {};
    ign.sa_handler = SIG_IGN;
    ::sigaction(SIGPIPE, &ign, &old_pipe);
    handler.sa_handler = [](int) {};
    ::sigaction(SIGUSR1, &handler, &old_usr1);
    sigset_t block, old_mask;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR2);
    ::pthread_sigmask(SIG_BLOCK, &block, &old_mask);
    int stray = ::open("/dev/null", O_RDONLY);   // no O_CLOEXEC on purpose
    REQUIRE(stray >= 0);

    auto r = run_sh("cat /proc/self/status; echo; echo FDS $(ls /proc/$$/fd | tr '\\n' ' '); "
                    "echo SID $(cut -d' ' -f6 /proc/$$/stat) PID $$; ulimit -t",
                    plan);
    ::close(stray);
    ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
    ::sigaction(SIGPIPE, &old_pipe, nullptr);
    ::sigaction(SIGUSR1, &old_usr1, nullptr);

    REQUIRE(r.start.pid > 0);
    CHECK(status_field(r.out, "SigIgn") == "0000000000000000");
    CHECK(status_field(r.out, "SigBlk") == "0000000000000000");
    // The shell (pid $$) was exec'd straight from our child: only 0, 1, 2 and ls's own dir fd.
    auto fds = r.out.substr(r.out.find("FDS ") + 4);
    fds = fds.substr(0, fds.find('\n'));
    CHECK(fds.find(std::to_string(stray) + " ") == std::string::npos);
    CHECK(fds.rfind("0 1 2 ", 0) == 0);
    auto sid_at = r.out.find("SID ");
    REQUIRE(sid_at != std::string::npos);
    std::string sid = r.out.substr(sid_at + 4, r.out.find(' ', sid_at + 4) - sid_at - 4);
    std::string pid = r.out.substr(r.out.find("PID ") + 4);
    pid = pid.substr(0, pid.find('\n'));
    CHECK(sid == pid);
    CHECK(sid == std::to_string(r.start.pid));
    CHECK(r.out.substr(r.out.rfind('\n', r.out.size() - 2) + 1) ==
          (plan.limits.cpu_seconds ? "100\n" : "unlimited\n"));
}

TEST_CASE("spawn: unused stdio is /dev/null, fds above are closed, sources may collide with targets") {
    // Give the child our fd 0 as its fd 4 and a pipe as its fd 3: two sources below the top.
    int extra[2];
    REQUIRE(::pipe2(extra, O_CLOEXEC) == 0);
    SpawnPlan plan;
    SUBCASE("posix_spawn") {}
    SUBCASE("through asmtpd-exec (its status fd is 7, gone before the program runs)") {
        plan.limits.as_bytes = 1ull << 40;
    }
    plan.fds = {-1, -1, -1, extra[1], 0, -1, -1};
    auto r = run_sh("echo via3 >&3; readlink /proc/$$/fd/0; readlink /proc/$$/fd/2; "
                    "[ -e /proc/$$/fd/5 ] && echo fd5-open; [ -e /proc/$$/fd/4 ] && echo fd4-open; "
                    "[ -e /proc/$$/fd/7 ] && echo fd7-open; exit 0",
                    plan);
    ::close(extra[1]);
    char buf[64] = {};
    ssize_t n = ::read(extra[0], buf, sizeof buf - 1);
    ::close(extra[0]);
    REQUIRE(r.start.pid > 0);
    CHECK(std::string(buf, n > 0 ? static_cast<std::size_t>(n) : 0) == "via3\n");
    CHECK(r.out.find("/dev/null\n/dev/null\n") != std::string::npos);
    CHECK(r.out.find("fd5-open") == std::string::npos);
    CHECK(r.out.find("fd4-open") != std::string::npos);
    CHECK(r.out.find("fd7-open") == std::string::npos);
}

TEST_CASE("spawn: failures name the step and leave nothing to reap") {
    std::string prog = "/nonexistent/prog";
    char* argv[] = {prog.data(), nullptr};
    char* envp[] = {nullptr};
    SpawnPlan plan;
    plan.path = prog.c_str();
    plan.argv = argv;
    plan.envp = envp;
    plan.fds = {-1, -1, -1};
    auto r = spawn_program(plan);
    CHECK(r.pid <= 0);
    CHECK(r.error == ENOENT);
    CHECK(std::string(r.stage) == "execve");

    plan.path = "/bin/true";
    plan.cwd = "/nonexistent-dir";
    r = spawn_program(plan);
    CHECK(r.pid <= 0);
    CHECK(r.error == ENOENT);
    CHECK(std::string(r.stage) == "chdir");

    plan.fds = {-1, -1};
    r = spawn_program(plan);
    CHECK(r.error == EINVAL);
    errno = 0;
    CHECK(::waitpid(-1, nullptr, WNOHANG) <= 0);   // no child of ours is waiting to be reaped
}

TEST_CASE("spawn: through asmtpd-exec, failures name the step and leave nothing to reap") {
    std::string prog = "/nonexistent/prog";
    char* argv[] = {prog.data(), nullptr};
    char* envp[] = {nullptr};
    SpawnPlan plan;
    plan.path = prog.c_str();
    plan.argv = argv;
    plan.envp = envp;
    plan.fds = {-1, -1, -1};
    plan.limits.cpu_seconds = 5;
    auto r = spawn_program(plan);
    CHECK(r.pid <= 0);
    CHECK(r.error == ENOENT);
    CHECK(std::string(r.stage) == "execve");

    plan.path = "/bin/true";
    plan.cwd = "/nonexistent-dir";
    r = spawn_program(plan);
    CHECK(r.pid <= 0);
    CHECK(r.error == ENOENT);
    CHECK(std::string(r.stage) == "chdir");

    if (::geteuid() == 0) {
        // A directory root may enter but nobody may not: the cwd is entered as the new user.
        char dir[] = "/tmp/spawn-test-XXXXXX";
        REQUIRE(::mkdtemp(dir) != nullptr);   // mode 0700
        SpawnCredentials nobody{65534, 65534};
        plan.credentials = &nobody;
        plan.cwd = dir;
        r = spawn_program(plan);
        ::rmdir(dir);
        CHECK(r.pid <= 0);
        CHECK(r.error == EACCES);
        CHECK(std::string(r.stage) == "chdir");
    }
    errno = 0;
    CHECK(::waitpid(-1, nullptr, WNOHANG) <= 0);
}

TEST_CASE("spawn: cwd is applied before a relative program path") {
    SpawnPlan plan;
    plan.cwd = "/proc";
    auto r = run_sh("pwd", plan);
    REQUIRE(r.start.pid > 0);
    CHECK(r.out == "/proc\n");
}

TEST_CASE("spawn: resolve_program searches PATH only for bare names") {
    CHECK(resolve_program("/no/such", "/bin") == "/no/such");
    CHECK(resolve_program("rel/x", "/bin") == "rel/x");
    CHECK(resolve_program("sh", "/nonexistent:/bin") == "/bin/sh");
    CHECK(resolve_program("asmtpd-no-such-program", "/bin:/usr/bin") == "");
    CHECK(resolve_program("passwd", "/etc") == "");   // exists, but not executable
    CHECK(resolve_program("sh", "") != "");           // default list
}

TEST_CASE("spawn: rlimits and, as root, another uid and gid") {
    SpawnPlan plan;
    plan.limits.cpu_seconds = 7;
    plan.limits.as_bytes = 1ull << 32;
    SpawnCredentials nobody{65534, 65534};
    if (::geteuid() == 0) plan.credentials = &nobody;
    auto r = run_sh("ulimit -t; ulimit -v; id -u; id -g; id -G", plan);
    REQUIRE(r.start.pid > 0);
    CHECK(r.out.rfind("7\n4194304\n", 0) == 0);
    if (::geteuid() == 0) {
        CHECK(r.out.find("\n65534\n65534\n65534\n") != std::string::npos);
    } else {
        MESSAGE("not root: uid/gid switch not exercised");
    }
}

TEST_CASE("asmtpd-exec refuses a malformed command line instead of running the program") {
    // The helper sits next to the test binary, as it does next to the daemon.
    char self[4096];
    ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    REQUIRE(n > 0);
    std::string helper(self, static_cast<std::size_t>(n));
    helper = helper.substr(0, helper.rfind('/') + 1) + "asmtpd-exec";
    for (const char* uid : {"x", "-1x", "65534"}) {   // "65534" with gid "-": half a switch
        CAPTURE(uid);
        int status_pipe[2];
        REQUIRE(::pipe2(status_pipe, O_CLOEXEC) == 0);
        std::vector<std::string> args = {helper, "3", uid, "-", "0", "0", "", "/bin/sh", "sh", "-c", "echo ran >&2"};
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        char* envp[] = {nullptr};
        SpawnPlan plan;
        plan.path = helper.c_str();
        plan.argv = argv.data();
        plan.envp = envp;
        plan.fds = {-1, -1, -1, status_pipe[1]};
        auto r = spawn_program(plan);
        ::close(status_pipe[1]);
        REQUIRE(r.pid > 0);
        int report[2] = {0, 0};
        CHECK(::read(status_pipe[0], report, sizeof report) == static_cast<ssize_t>(sizeof report));
        ::close(status_pipe[0]);
        CHECK(report[0] == exec_helper::kUsage);
        CHECK(report[1] == EINVAL);
        int status = 0;
        REQUIRE(::waitpid(r.pid, &status, 0) == r.pid);
        CHECK(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 127);
    }
}

}  // namespace ASMTPD_TEST_UNIT

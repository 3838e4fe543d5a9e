// asmtpd_exec.cpp - asmtpd-exec, the helper spawn_program starts (with posix_spawn) when a child
// must run under rlimits or another uid/gid: it applies them, enters the working directory and
// execve()s the real program. The command line and the failure report: core/io/exec_helper.hpp.
//
// Must never: run the program when any step failed (a sandbox half applied is no sandbox);
// search PATH (the server resolved the program); touch fds other than STATUS_FD (the server laid
// out the child's fd table already). Uses only libc: it is exec'd once per sandboxed child.
#include <fcntl.h>
#include <grp.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "core/io/exec_helper.hpp"

namespace {

namespace eh = asmtpd::io::exec_helper;

int status_fd = -1;

[[noreturn]] void fail(int stage) {
    eh::Report report{stage, stage == eh::kUsage ? EINVAL : errno};
    if (status_fd >= 0) {
        ssize_t ignored = ::write(status_fd, &report, sizeof report);
        (void)ignored;
    }
    ::_exit(eh::kExitCannotRun);
}

// A decimal number (*is_set = true), or "-" (*is_set = false); false for anything else.
bool parse_number(const char* text, unsigned long long* value, bool* is_set) {
    *is_set = false;
    if (text[0] == '-' && text[1] == '\0') return true;
    if (text[0] < '0' || text[0] > '9') return false;
    char* end = nullptr;
    errno = 0;
    *value = std::strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0') return false;
    *is_set = true;
    return true;
}

void limit(int resource, unsigned long long value, int stage) {
    if (value == 0) return;
    rlimit rl{static_cast<rlim_t>(value), static_cast<rlim_t>(value)};
    if (::setrlimit(resource, &rl) != 0) fail(stage);
}

}  // namespace

int main(int argc, char** argv, char** envp) {
    unsigned long long fd = 0, uid = 0, gid = 0, cpu = 0, as = 0;
    bool fd_set = false, uid_set = false, gid_set = false, cpu_set = false, as_set = false;
    if (argc > 1 && parse_number(argv[1], &fd, &fd_set) && fd_set && fd < 65536) status_fd = static_cast<int>(fd);
    if (argc < eh::kFirstProgramArg + 2 || status_fd < 0) fail(eh::kUsage);
    if (!parse_number(argv[2], &uid, &uid_set) || !parse_number(argv[3], &gid, &gid_set) || uid_set != gid_set ||
        !parse_number(argv[4], &cpu, &cpu_set) || !cpu_set || !parse_number(argv[5], &as, &as_set) || !as_set)
        fail(eh::kUsage);
    const char* cwd = argv[6];
    const char* path = argv[eh::kFirstProgramArg];

    // Limits first: raising a hard limit (as the admin may ask) needs the privileges we drop next.
    limit(RLIMIT_CPU, cpu, eh::kRlimitCpu);
    limit(RLIMIT_AS, as, eh::kRlimitAs);
    if (uid_set) {
        const gid_t group = static_cast<gid_t>(gid);
        if (::setgroups(1, &group) != 0) fail(eh::kSetgroups);
        if (::setgid(group) != 0) fail(eh::kSetgid);
        if (::setuid(static_cast<uid_t>(uid)) != 0) fail(eh::kSetuid);
    }
    if (cwd[0] != '\0' && ::chdir(cwd) != 0) fail(eh::kChdir);
    if (::fcntl(status_fd, F_SETFD, FD_CLOEXEC) != 0) fail(eh::kUsage);
    ::execve(path, argv + eh::kFirstProgramArg + 1, envp);
    fail(eh::kExecve);
}

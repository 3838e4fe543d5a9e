// spawn.cpp - clone(CLONE_VM | CLONE_VFORK) + execve, the child side done with raw system calls.
//
// Why not fork(): its cost is proportional to the parent's page tables (measured: the spp path
// ran at 0.44 x a tiny uv_spawn loop). Why not posix_spawn(): it cannot set rlimits or drop to
// another uid, which spp plugins need (SPP.md 5.2.1).
// Must never: in the child, call a libc function that takes a lock, allocates, or is intercepted
// by the sanitizers (only syscall() and errno are used), or let a server signal handler run (all
// signals stay blocked until every disposition is back to SIG_DFL, right before execve).
// Ownership: the stack is one mapping per thread, reused; CLONE_VFORK guarantees that only one
// child uses it at a time (the parent thread sleeps until execve or exit).
#include "core/io/spawn.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace asmtpd::io {

namespace {

constexpr std::size_t kStackSize = 256 * 1024;   // generous: sanitizer builds use bigger frames
constexpr long kKernelSigsetBytes = 8;           // _NSIG / 8 on every Linux we build for
constexpr int kMaxSignal = 64;

struct ChildArgs {
    const SpawnPlan* plan;
    int devnull;
    int error;
    const char* stage;
};

struct StackDeleter {
    void operator()(void* p) const { ::munmap(p, kStackSize); }
};

void* thread_stack() {
    thread_local std::unique_ptr<void, StackDeleter> stack;
    if (!stack) {
        void* p = ::mmap(nullptr, kStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        if (p == MAP_FAILED) return nullptr;
        stack.reset(p);
    }
    return stack.get();
}

// The child. Every call is a raw system call: errno is written (it is the sleeping parent
// thread's, which reads the result from `args` instead), nothing else of the parent's memory.
__attribute__((no_sanitize_address, no_sanitize("undefined"), noinline))
int child_main(void* raw) {
    auto* args = static_cast<ChildArgs*>(raw);
    const SpawnPlan& plan = *args->plan;
    auto fail = [&](const char* stage) {
        args->error = errno;
        args->stage = stage;
        ::syscall(SYS_exit, 127);
        return 127;
    };

    // A zeroed kernel sigaction is SIG_DFL with no flags, whatever the architecture's layout.
    unsigned long zero_action[8] = {};
    for (int sig = 1; sig <= kMaxSignal; ++sig) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        ::syscall(SYS_rt_sigaction, sig, zero_action, nullptr, kKernelSigsetBytes);
    }
    if (plan.new_session && ::syscall(SYS_setsid) < 0) return fail("setsid");
    if (plan.limits.cpu_seconds != 0) {
        rlimit rl{plan.limits.cpu_seconds, plan.limits.cpu_seconds};
        if (::syscall(SYS_prlimit64, 0, RLIMIT_CPU, &rl, nullptr) < 0) return fail("setrlimit(RLIMIT_CPU)");
    }
    if (plan.limits.as_bytes != 0) {
        rlimit rl{plan.limits.as_bytes, plan.limits.as_bytes};
        if (::syscall(SYS_prlimit64, 0, RLIMIT_AS, &rl, nullptr) < 0) return fail("setrlimit(RLIMIT_AS)");
    }
    if (plan.credentials) {
        gid_t groups[1] = {plan.credentials->gid};
        if (::syscall(SYS_setgroups, 1, groups) < 0) return fail("setgroups");
        if (::syscall(SYS_setgid, plan.credentials->gid) < 0) return fail("setgid");
        if (::syscall(SYS_setuid, plan.credentials->uid) < 0) return fail("setuid");
    }
    if (plan.cwd && ::syscall(SYS_chdir, plan.cwd) < 0) return fail("chdir");

    // The parent moved every source fd above the table (spawn_program), so dup3 never meets
    // a source it has already overwritten.
    const int n = static_cast<int>(plan.fds.size());
    for (int fd = 0; fd < n; ++fd) {
        int src = plan.fds[static_cast<std::size_t>(fd)];
        if (src < 0 && fd <= 2) src = args->devnull;
        if (src < 0) {
            ::syscall(SYS_close, fd);
            continue;
        }
        if (::syscall(SYS_dup3, src, fd, 0) < 0) return fail("dup3");
    }
    if (::syscall(SYS_close_range, n, ~0U, 0) < 0) {
        // Kernels before 5.9: every server fd is close-on-exec already (spawn_program).
    }

    unsigned long empty_mask[1] = {0};
    ::syscall(SYS_rt_sigprocmask, SIG_SETMASK, empty_mask, nullptr, kKernelSigsetBytes);
    ::syscall(SYS_execve, plan.path, plan.argv, plan.envp);
    return fail("execve");
}

bool close_range_works() {
    static const bool works = [] {
        // Probe with an fd range that is certainly empty.
        return ::syscall(SYS_close_range, ~0U - 1, ~0U, 0) == 0 || errno != ENOSYS;
    }();
    return works;
}

void mark_all_cloexec() {
    for (int fd = 3; fd < 65536; ++fd) {
        int flags = ::fcntl(fd, F_GETFD);
        if (flags >= 0 && !(flags & FD_CLOEXEC)) ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
    }
}

}  // namespace

SpawnResult spawn_program(const SpawnPlan& plan) {
    SpawnResult out;
    if (!plan.path || !plan.argv || !plan.envp || plan.fds.size() < 3) {
        out.error = EINVAL;
        out.stage = "plan";
        return out;
    }
    void* stack = thread_stack();
    if (!stack) {
        out.error = ENOMEM;
        out.stage = "stack";
        return out;
    }
    if (!close_range_works()) mark_all_cloexec();

    // Sources that sit inside the child's fd table are moved above it first.
    SpawnPlan moved = plan;
    const int n = static_cast<int>(plan.fds.size());
    std::vector<int> temporaries;
    for (auto& src : moved.fds) {
        if (src < 0 || src >= n) continue;
        int copy = ::fcntl(src, F_DUPFD_CLOEXEC, n);
        if (copy < 0) {
            out.error = errno;
            out.stage = "dup";
            for (int t : temporaries) ::close(t);
            return out;
        }
        temporaries.push_back(copy);
        src = copy;
    }
    int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull >= 0 && devnull < n) {
        int copy = ::fcntl(devnull, F_DUPFD_CLOEXEC, n);
        ::close(devnull);
        devnull = copy;
    }
    if (devnull < 0) {
        out.error = errno;
        out.stage = "open /dev/null";
        for (int t : temporaries) ::close(t);
        return out;
    }

    ChildArgs args{&moved, devnull, 0, ""};
    sigset_t all, old;
    ::sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &old);
    char* top = static_cast<char*>(stack) + kStackSize;
    pid_t pid = ::clone(child_main, top, CLONE_VM | CLONE_VFORK | SIGCHLD, &args);
    const int clone_errno = errno;
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    ::close(devnull);
    for (int t : temporaries) ::close(t);

    if (pid < 0) {
        out.error = clone_errno;
        out.stage = "clone";
        return out;
    }
    if (args.error != 0) {
        // The child has already exited (CLONE_VFORK returned): collect it now.
        int status = 0;
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        out.error = args.error;
        out.stage = args.stage;
        return out;
    }
    out.pid = pid;
    return out;
}

std::string resolve_program(const std::string& name, const std::string& path_list) {
    if (name.empty() || name.find('/') != std::string::npos) return name;
    const std::string list = path_list.empty() ? "/usr/local/bin:/usr/bin:/bin" : path_list;
    std::size_t start = 0;
    while (start <= list.size()) {
        std::size_t end = list.find(':', start);
        if (end == std::string::npos) end = list.size();
        std::string dir = list.substr(start, end - start);
        if (dir.empty()) dir = ".";
        std::string candidate = dir + "/" + name;
        struct stat st {};
        if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(candidate.c_str(), X_OK) == 0)
            return candidate;
        start = end + 1;
    }
    return "";
}

}  // namespace asmtpd::io

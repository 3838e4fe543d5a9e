// spawn.cpp - spawn_program over posix_spawn, and through asmtpd-exec when the child needs
// rlimits or another uid/gid (see spawn.hpp for why).
//
// Must never: let a source fd of the table be overwritten before it was copied (sources that
// sit inside the child's table are moved above it first); leave a server signal handler or mask
// in the child (POSIX_SPAWN_SETSIGDEF with every signal, POSIX_SPAWN_SETSIGMASK empty); leave a
// server fd open in the child (addclosefrom_np above the table); return a pid whose program was
// never exec'd (the helper's status pipe is read to EOF first); leave a failed helper unreaped.
// Ownership: every fd opened here is closed before return; the pid is the caller's to reap.
#include "core/io/spawn.hpp"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "core/io/exec_helper.hpp"

namespace asmtpd::io {

namespace {

namespace eh = exec_helper;

class FileActions {
public:
    FileActions() { ::posix_spawn_file_actions_init(&actions_); }
    ~FileActions() { ::posix_spawn_file_actions_destroy(&actions_); }
    FileActions(const FileActions&) = delete;
    FileActions& operator=(const FileActions&) = delete;
    posix_spawn_file_actions_t* get() { return &actions_; }

private:
    posix_spawn_file_actions_t actions_;
};

class Attributes {
public:
    explicit Attributes(bool new_session) {
        ::posix_spawnattr_init(&attr_);
        sigset_t none, all;
        ::sigemptyset(&none);
        // Every signal back to SIG_DFL, including what the server ignores (SIGPIPE). Not
        // sigfillset(): it leaves out glibc's internal signals (32, 33), which glibc 2.36's
        // posix_spawn then sets to SIG_IGN in the child, and SIG_IGN survives execve.
        std::memset(&all, 0xff, sizeof all);
        ::posix_spawnattr_setsigmask(&attr_, &none);
        ::posix_spawnattr_setsigdefault(&attr_, &all);
        short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
        if (new_session) flags |= POSIX_SPAWN_SETSID;
        ::posix_spawnattr_setflags(&attr_, flags);
    }
    ~Attributes() { ::posix_spawnattr_destroy(&attr_); }
    Attributes(const Attributes&) = delete;
    Attributes& operator=(const Attributes&) = delete;
    const posix_spawnattr_t* get() const { return &attr_; }

private:
    posix_spawnattr_t attr_;
};

// The parent fds handed to the child, with every source below the table's size replaced by a
// close-on-exec copy above it; the copies are closed on destruction.
class SourceFds {
public:
    ~SourceFds() { close_copies(); }
    int prepare(std::vector<int> fds) {
        fds_ = std::move(fds);
        const int size = static_cast<int>(fds_.size());
        for (int& src : fds_) {
            if (src < 0 || src >= size) continue;
            int copy = ::fcntl(src, F_DUPFD_CLOEXEC, size);
            if (copy < 0) return errno;
            copies_.push_back(copy);
            src = copy;
        }
        return 0;
    }
    const std::vector<int>& fds() const { return fds_; }
    void close_copies() {
        for (int fd : copies_) ::close(fd);
        copies_.clear();
    }

private:
    std::vector<int> fds_;
    std::vector<int> copies_;
};

int add_fd_table(posix_spawn_file_actions_t* actions, const std::vector<int>& fds) {
    const int size = static_cast<int>(fds.size());
    for (int fd = 0; fd < size; ++fd) {
        const int src = fds[static_cast<std::size_t>(fd)];
        int rc;
        if (src >= 0) rc = ::posix_spawn_file_actions_adddup2(actions, src, fd);
        else if (fd <= 2) rc = ::posix_spawn_file_actions_addopen(actions, fd, "/dev/null", O_RDWR, 0);
        else rc = ::posix_spawn_file_actions_addclose(actions, fd);   // not open: not an error
        if (rc != 0) return rc;
    }
    return ::posix_spawn_file_actions_addclosefrom_np(actions, size);
}

// posix_spawn reports only an errno: name the step that most likely gave it.
const char* failed_stage(const SpawnPlan& plan, int error) {
    if (plan.cwd) {
        struct stat st {};
        if (::stat(plan.cwd, &st) != 0 || !S_ISDIR(st.st_mode) || ::access(plan.cwd, X_OK) != 0) return "chdir";
    }
    if (error == EBADF || error == EMFILE || error == ENFILE) return "fd table";
    return "execve";
}

// asmtpd-exec next to our own executable (the daemon's, or a test binary's, in a build dir),
// else where `cmake --install` puts it (ASMTPD_LIBEXECDIR: /usr/lib/asmtpd for the package;
// /usr/sbin/asmtpd and /usr/bin/asmtpd-plugtest share it).
const std::string& helper_path() {
    static const std::string path = [] {
        char buf[PATH_MAX];
        ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
        std::string beside;
        if (n > 0) {
            std::string self(buf, static_cast<std::size_t>(n));
            beside = self.substr(0, self.rfind('/') + 1) + eh::kProgramName;
            if (::access(beside.c_str(), X_OK) == 0) return beside;
        }
#ifdef ASMTPD_LIBEXECDIR
        std::string installed = std::string(ASMTPD_LIBEXECDIR) + "/" + eh::kProgramName;
        if (::access(installed.c_str(), X_OK) == 0) return installed;
#endif
        return beside;
    }();
    return path;
}

SpawnResult failure(int error, const char* stage) {
    SpawnResult out;
    out.error = error;
    out.stage = stage;
    return out;
}

SpawnResult spawn_direct(const SpawnPlan& plan) {
    SourceFds sources;
    if (int err = sources.prepare(plan.fds)) return failure(err, "dup");
    FileActions actions;
    // chdir first: a relative path, and nothing else, is taken from the new directory.
    int rc = plan.cwd ? ::posix_spawn_file_actions_addchdir_np(actions.get(), plan.cwd) : 0;
    if (rc == 0) rc = add_fd_table(actions.get(), sources.fds());
    if (rc != 0) return failure(rc, "file actions");
    Attributes attr(plan.new_session);
    pid_t pid = -1;
    rc = ::posix_spawn(&pid, plan.path, actions.get(), attr.get(), plan.argv, plan.envp);
    if (rc != 0) return failure(rc, failed_stage(plan, rc));   // glibc reaped the child already
    SpawnResult out;
    out.pid = pid;
    return out;
}

// The helper gets the table plus the status pipe's write end as its last fd; the program it
// exec's sees the table alone (the status fd is close-on-exec by then).
SpawnResult spawn_with_helper(const SpawnPlan& plan) {
    const std::string& helper = helper_path();
    if (helper.empty()) return failure(ENOENT, eh::kProgramName);
    int status[2];
    if (::pipe2(status, O_CLOEXEC) != 0) return failure(errno, "pipe");
    std::vector<int> table = plan.fds;
    const int status_fd = static_cast<int>(table.size());
    table.push_back(status[1]);

    SourceFds sources;
    const char* stage = "dup";
    int err = sources.prepare(std::move(table));
    FileActions actions;
    if (err == 0) {
        stage = "file actions";
        err = add_fd_table(actions.get(), sources.fds());
    }

    const SpawnCredentials* cred = plan.credentials;
    std::string args[] = {
        std::to_string(status_fd),
        cred ? std::to_string(cred->uid) : "-",
        cred ? std::to_string(cred->gid) : "-",
        std::to_string(plan.limits.cpu_seconds),
        std::to_string(plan.limits.as_bytes),
        plan.cwd ? plan.cwd : "",
        plan.path,
    };
    std::vector<char*> argv{const_cast<char*>(eh::kProgramName)};
    for (auto& a : args) argv.push_back(a.data());
    for (char* const* a = plan.argv; *a; ++a) argv.push_back(*a);
    argv.push_back(nullptr);

    pid_t pid = -1;
    if (err == 0) {
        Attributes attr(plan.new_session);
        stage = eh::kProgramName;
        err = ::posix_spawn(&pid, helper.c_str(), actions.get(), attr.get(), argv.data(), plan.envp);
    }
    sources.close_copies();
    ::close(status[1]);   // from here on only the helper holds the write end
    if (err != 0) {
        ::close(status[0]);
        return failure(err, err == EBADF || err == EMFILE ? "fd table" : stage);
    }

    // EOF: the program was exec'd. A report: the helper is exiting, collect it now.
    eh::Report report{};
    ssize_t n;
    do {
        n = ::read(status[0], &report, sizeof report);
    } while (n < 0 && errno == EINTR);
    ::close(status[0]);
    if (n != static_cast<ssize_t>(sizeof report)) {
        SpawnResult out;
        out.pid = pid;
        return out;
    }
    int wstatus = 0;
    while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
    }
    return failure(report.error != 0 ? report.error : EINVAL, eh::stage_name(report.stage));
}

bool needs_helper(const SpawnPlan& plan) {
    return plan.credentials != nullptr || plan.limits.cpu_seconds != 0 || plan.limits.as_bytes != 0;
}

}  // namespace

SpawnResult spawn_program(const SpawnPlan& plan) {
    if (!plan.path || !plan.argv || !plan.envp || plan.fds.size() < 3) return failure(EINVAL, "plan");
    return needs_helper(plan) ? spawn_with_helper(plan) : spawn_direct(plan);
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

// spawned.hpp - helper processes for tests: a child started with posix_spawn and stopped by its
// pid (SIGTERM, then SIGKILL, always reaped), the repository root, and a free loopback port.
//
// Must never: leave a process running or signal a process it did not start. Header-only
// (t/support is not globbed) and free of asmtpd headers, so every test binary can use it.
#pragma once

#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

extern char** environ;

namespace asmtpd::test {

inline std::string repo_root() {
    std::filesystem::path p(__FILE__);   // <root>/t/support/spawned.hpp
    // ccache's base_dir makes __FILE__ relative to the build directory, where the test binary
    // lives: resolve it from there, so tests run from any working directory.
    if (p.is_relative()) p = std::filesystem::read_symlink("/proc/self/exe").parent_path() / p;
    return p.lexically_normal().parent_path().parent_path().parent_path().string();
}

namespace detail {

// Without SO_REUSEADDR, so a port with a connection in TIME_WAIT is passed over: the server
// given it may be one that does not set the option.
inline bool bindable(std::uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    return ok;
}

// The claim files this process made; removed when it exits.
struct PortClaims {
    std::vector<std::string> files;
    ~PortClaims() {
        for (const auto& f : files) ::unlink(f.c_str());
    }
};

}  // namespace detail

// A loopback port nobody listens on and no other test process of this machine holds. Test
// binaries run in parallel (ctest -j), and a port is bound some time after it is handed out:
// bind-to-0-and-release let two of them get the same one. So ports come from below the
// kernel's ephemeral range (no connection's source port, no bind(0) takes them) and each is
// claimed by an O_EXCL file in /tmp/asmtpd-e2e-ports, as t/e2e/daemon_process.py claims them.
inline std::uint16_t free_port() {
    static detail::PortClaims claims;
    static std::mt19937 pick(std::random_device{}());
    const std::string dir = "/tmp/asmtpd-e2e-ports";
    if (::mkdir(dir.c_str(), 01777) == 0) ::chmod(dir.c_str(), 01777);   // every user's runs share it (umask aside)
    unsigned low = 32768;
    if (FILE* f = std::fopen("/proc/sys/net/ipv4/ip_local_port_range", "r")) {
        if (std::fscanf(f, "%u", &low) != 1) low = 32768;
        std::fclose(f);
    }
    REQUIRE_MESSAGE(low > 12000, "ip_local_port_range starts at " << low << ": no room below it for test ports");
    std::uniform_int_distribution<unsigned> range(std::max(10000u, low - 12000), low - 1);
    for (int attempt = 0; attempt < 2000; ++attempt) {
        const auto port = static_cast<std::uint16_t>(range(pick));
        const std::string claim = dir + "/" + std::to_string(port);
        int fd = ::open(claim.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
        if (fd < 0) {
            struct stat st {};
            // A claim older than any test run is left over from a killed one.
            if (::stat(claim.c_str(), &st) == 0 && std::time(nullptr) - st.st_mtime > 3 * 3600) ::unlink(claim.c_str());
            continue;
        }
        ::close(fd);
        claims.files.push_back(claim);
        if (detail::bindable(port)) return port;
    }
    FAIL("no free loopback port (claims in " << dir << ")");
    return 0;
}

inline bool can_connect(std::uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    return ok;
}

// One child process, stopped by pid in the destructor.
class Spawned {
public:
    // stderr goes to err_path (the peers' warnings are for debugging a failure, not the test log).
    // env: "NAME=value" entries that replace or add to this process's environment for the child.
    Spawned(std::vector<std::string> argv, const std::string& err_path, std::vector<std::string> env = {}) {
        std::vector<char*> args;
        for (auto& a : argv) args.push_back(a.data());
        args.push_back(nullptr);
        std::vector<char*> envp;
        for (auto& e : env) envp.push_back(e.data());
        for (char** e = environ; *e; ++e) {
            const std::string_view entry(*e);
            const auto name = entry.substr(0, entry.find('=') + 1);
            bool replaced = false;
            for (auto& own : env) replaced = replaced || std::string_view(own).starts_with(name);
            if (!replaced) envp.push_back(*e);
        }
        envp.push_back(nullptr);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        int rc = ::posix_spawnp(&pid_, args[0], &fa, nullptr, args.data(), envp.data());
        posix_spawn_file_actions_destroy(&fa);
        REQUIRE_MESSAGE(rc == 0, "cannot spawn " << argv[0]);
    }
    ~Spawned() { stop(); }
    Spawned(const Spawned&) = delete;
    Spawned& operator=(const Spawned&) = delete;

    pid_t pid() const { return pid_; }
    bool running() {
        if (pid_ <= 0) return false;
        int st = 0;
        pid_t r = ::waitpid(pid_, &st, WNOHANG);
        if (r == pid_) {
            pid_ = -1;
            return false;
        }
        return true;
    }
    void stop() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGTERM);
        for (int i = 0; i < 200; ++i) {
            int st = 0;
            if (::waitpid(pid_, &st, WNOHANG) == pid_) {
                pid_ = -1;
                return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        ::kill(pid_, SIGKILL);
        int st = 0;
        ::waitpid(pid_, &st, 0);
        pid_ = -1;
    }

private:
    pid_t pid_ = -1;
};

}  // namespace asmtpd::test

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
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
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

// A loopback port nobody listens on right now (bound to 0, read, released).
inline std::uint16_t free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
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

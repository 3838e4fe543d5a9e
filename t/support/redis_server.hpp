// redis_server.hpp - a real redis-server for a test: on a free loopback port, no persistence,
// its files in a directory of the test's, stopped by its pid (t/support/spawned.hpp).
//
// Must never: reach a Redis the test did not start. Header-only, for any test binary.
#pragma once

#include <doctest/doctest.h>
#include <signal.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "t/support/spawned.hpp"

namespace asmtpd::test {

class RedisServer {
public:
    // dir: where redis may write (it writes nothing with these settings, but needs a cwd).
    explicit RedisServer(std::string dir, std::uint16_t port = 0) : dir_(std::move(dir)), port_(port ? port : free_port()) {
        start();
    }
    void start() {
        proc_ = std::make_unique<Spawned>(
            std::vector<std::string>{"redis-server", "--port", std::to_string(port_), "--bind", "127.0.0.1",
                                     "--save", "", "--appendonly", "no", "--dir", dir_, "--protected-mode", "no",
                                     "--logfile", dir_ + "/redis.log"},
            dir_ + "/redis.err");
        for (int i = 0; i < 500 && !can_connect(port_); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
        REQUIRE_MESSAGE(can_connect(port_), "redis-server did not start on port " << port_);
    }
    void stop() { proc_.reset(); }
    void pause() { ::kill(proc_->pid(), SIGSTOP); }
    void resume() { ::kill(proc_->pid(), SIGCONT); }
    ~RedisServer() {
        if (proc_) resume();
    }
    std::uint16_t port() const { return port_; }

private:
    std::string dir_;
    std::uint16_t port_;
    std::unique_ptr<Spawned> proc_;
};

}  // namespace asmtpd::test

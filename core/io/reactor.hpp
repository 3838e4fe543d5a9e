// reactor.hpp - the event loop as plugins see it: timers, the thread pool, the clock, and an
// identity for per-loop state, without libuv types in their hands.
//
// A cheap, copyable handle: each session holds one for its loop and hands plugins a reference
// through Context::reactor(); work that outlives the session keeps a copy (the loop outlives
// every session). loop_id() tells which loop it is. native() is for the core/io and core/client wrappers that build on libuv;
// scripts/check-layers keeps it (and <uv.h>) out of hooks/ and plugins/.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include <uv.h>

#include "core/io/timer.hpp"
#include "core/io/work.hpp"

namespace asmtpd::io {

class Reactor {
public:
    explicit Reactor(uv_loop_t* loop) : loop_(loop) {}

    // A one-shot timer on this loop (see timer.hpp for its rules).
    std::unique_ptr<Timer> timer() const { return std::make_unique<Timer>(loop_); }
    // Runs `work` on the thread pool, then `after` on this loop (see work.hpp for the rules).
    void run_in_pool(std::function<void()> work, std::function<void()> after) const {
        io::run_in_pool(loop_, std::move(work), std::move(after));
    }
    // The loop's cached clock in milliseconds (updated once per loop iteration).
    std::uint64_t now_ms() const { return uv_now(loop_); }

    // Identifies the loop (two Reactor handles of one loop give the same id): per-loop state
    // such as connection pools is keyed by it.
    const void* loop_id() const { return loop_; }

    uv_loop_t* native() const { return loop_; }

private:
    uv_loop_t* loop_;
};

}  // namespace asmtpd::io

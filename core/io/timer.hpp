// timer.hpp - a cancellable one-shot libuv timer that is safe to destroy at any time.
//
// Rules: the uv_timer_t lives in a heap block that libuv owns between uv_close() and the close
// callback, so the Timer object itself may be destroyed from inside its own callback or while
// armed; the callback never runs after stop() or destruction.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include <uv.h>

namespace asmtpd::io {

class Timer {
public:
    explicit Timer(uv_loop_t* loop);
    ~Timer();
    Timer(const Timer&) = delete;
    Timer& operator=(const Timer&) = delete;

    // (Re)arms the timer; a pending callback is replaced.
    void start(std::uint64_t ms, std::function<void()> fn);
    void stop();
    bool active() const;
    // The timer no longer keeps the loop running: uv_run returns when only it is left
    // (a heartbeat such as the systemd watchdog must not hold up a graceful stop).
    void unref();

private:
    struct Block;
    Block* block_;   // owned; handed to libuv on destruction, freed in the close callback
};

}  // namespace asmtpd::io

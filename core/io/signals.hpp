// signals.hpp - RAII watcher for one POSIX signal on a libuv loop (SIGHUP reload, SIGTERM drain).
//
// Rules: the uv_signal_t lives in a heap block freed in the close callback, so the watcher may be
// stopped or destroyed from inside its own callback; the callback never runs after stop() or
// destruction. Signals are delivered on the loop thread, never in signal context.
#pragma once

#include <functional>

#include <uv.h>

namespace asmtpd::io {

class SignalWatcher {
public:
    explicit SignalWatcher(uv_loop_t* loop);
    ~SignalWatcher();
    SignalWatcher(const SignalWatcher&) = delete;
    SignalWatcher& operator=(const SignalWatcher&) = delete;

    // Watches signum (replacing an earlier signal and callback); 0 or a libuv error code.
    int start(int signum, std::function<void(int signum)> fn);
    void stop();
    bool active() const;
    // An unreferenced watcher does not keep uv_run() going on its own (default: referenced).
    void keep_loop_alive(bool yes);

    struct Block;   // libuv-owned part (public only for the C callbacks in signals.cpp)

private:
    Block* block_;
};

// The daemon's stop signals (SIGTERM, SIGINT), watched next to the server's own watchers by an
// object whose idle connections would keep the loop alive (connection pools, persistent
// clients): `on_stop` runs on each, and the object closes them. Hold one only while there is
// something to close, so an idle object keeps no handle and the loop can end. It may be
// destroyed from inside `on_stop`.
class StopSignals {
public:
    StopSignals(uv_loop_t* loop, std::function<void()> on_stop);

private:
    SignalWatcher term_, int_;
};

// Process-wide: a peer that resets while we write must give EPIPE, not kill the server.
// Call once at start-up (and in tests that write to sockets).
void ignore_sigpipe();

}  // namespace asmtpd::io

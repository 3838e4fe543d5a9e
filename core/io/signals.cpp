// signals.cpp - uv_signal_t behind an RAII handle.
//
// Must never: run the callback after stop()/destruction, or free the handle before libuv's close
// callback. Ownership: SignalWatcher owns the Block until its destructor hands it to libuv. The
// callback is copied before it runs (signals repeat, so it cannot be moved out as Timer does):
// the callback may then restart or destroy the watcher safely.
#include "core/io/signals.hpp"

#include <csignal>

namespace asmtpd::io {

struct SignalWatcher::Block {
    uv_signal_t handle;
    std::function<void(int)> fn;
};

namespace {

void on_signal(uv_signal_t* h, int signum) {
    auto* b = static_cast<SignalWatcher::Block*>(h->data);
    if (!b->fn) return;
    auto fn = b->fn;
    fn(signum);
}

void on_close(uv_handle_t* h) { delete static_cast<SignalWatcher::Block*>(h->data); }

}  // namespace

SignalWatcher::SignalWatcher(uv_loop_t* loop) : block_(new Block) {
    uv_signal_init(loop, &block_->handle);
    block_->handle.data = block_;
}

SignalWatcher::~SignalWatcher() {
    uv_signal_stop(&block_->handle);
    block_->fn = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(&block_->handle), on_close);
}

int SignalWatcher::start(int signum, std::function<void(int)> fn) {
    block_->fn = std::move(fn);
    int rc = uv_signal_start(&block_->handle, on_signal, signum);
    if (rc != 0) block_->fn = nullptr;
    return rc;
}

void SignalWatcher::stop() {
    uv_signal_stop(&block_->handle);
    block_->fn = nullptr;
}

bool SignalWatcher::active() const {
    return uv_is_active(reinterpret_cast<const uv_handle_t*>(&block_->handle)) != 0;
}

void SignalWatcher::keep_loop_alive(bool yes) {
    auto* h = reinterpret_cast<uv_handle_t*>(&block_->handle);
    if (yes) uv_ref(h);
    else uv_unref(h);
}

void ignore_sigpipe() { std::signal(SIGPIPE, SIG_IGN); }

StopSignals::StopSignals(uv_loop_t* loop, std::function<void()> on_stop) : term_(loop), int_(loop) {
    auto fn = [on_stop = std::move(on_stop)](int) { on_stop(); };
    term_.start(SIGTERM, fn);
    int_.start(SIGINT, fn);
}

}  // namespace asmtpd::io

// timer.cpp - one-shot libuv timer whose handle outlives the Timer object until uv_close finishes.
//
// Must never: run a callback after stop() or destruction, or free the uv_timer_t before libuv's
// close callback. Ownership: Timer owns Block until its destructor, which hands it to libuv;
// on_close frees it. The callback is moved out of the Block before it runs, so the Timer may
// be restarted or destroyed from inside its own callback.
#include "core/io/timer.hpp"

#include <utility>

namespace asmtpd::io {

struct Timer::Block {
    uv_timer_t handle;
    std::function<void()> fn;
    bool alive = true;   // false once the Timer is gone: libuv only owns the memory now
};

Timer::Timer(uv_loop_t* loop) : block_(new Block) {
    uv_timer_init(loop, &block_->handle);
    block_->handle.data = block_;
}

Timer::~Timer() {
    block_->alive = false;
    uv_timer_stop(&block_->handle);
    block_->fn = nullptr;
    // Block is private to Timer, so its libuv callbacks are lambdas in member functions.
    uv_close(reinterpret_cast<uv_handle_t*>(&block_->handle),
             [](uv_handle_t* h) { delete static_cast<Block*>(h->data); });
}

void Timer::start(std::uint64_t ms, std::function<void()> fn) {
    block_->fn = std::move(fn);
    uv_timer_start(&block_->handle, [](uv_timer_t* h) {
        auto* b = static_cast<Block*>(h->data);
        if (!b->alive || !b->fn) return;
        // Moved out first: fn may call start() (replacing b->fn) or destroy the Timer.
        auto fn = std::move(b->fn);
        b->fn = nullptr;
        fn();
    }, ms, 0);
}

void Timer::stop() {
    uv_timer_stop(&block_->handle);
    block_->fn = nullptr;   // release captures now, not at the next start()
}

bool Timer::active() const {
    return uv_is_active(reinterpret_cast<const uv_handle_t*>(&block_->handle)) != 0;
}

void Timer::unref() { uv_unref(reinterpret_cast<uv_handle_t*>(&block_->handle)); }

}  // namespace asmtpd::io

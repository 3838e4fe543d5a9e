// spf_task.hpp - a minimal lazy C++20 coroutine task for the SPF evaluator.
//
// The evaluator is written as coroutines (check_host awaits DNS answers and nested
// check_host calls for include/redirect), which the compiler turns into the resumable state
// machine the plugin needs: a DNS question suspends the whole chain of frames, and the
// evaluator resumes it with the answer. Rules: a Task starts only when awaited (or start()),
// awaiting transfers control symmetrically (no stack growth), and destroying a Task destroys
// its frame and, through the frame's locals, every nested Task still suspended. No threads,
// no exceptions (an escaping one terminates), no I/O.
#pragma once

#include <coroutine>
#include <exception>
#include <optional>
#include <utility>

namespace asmtpd::proto::spf {

template <class T>
class Task {
public:
    struct promise_type {
        std::optional<T> value;
        std::coroutine_handle<> continuation;   // the awaiting frame; null for the top task

        Task get_return_object() { return Task(std::coroutine_handle<promise_type>::from_promise(*this)); }
        std::suspend_always initial_suspend() noexcept { return {}; }
        struct Final {
            bool await_ready() noexcept { return false; }
            std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> h) noexcept {
                auto next = h.promise().continuation;
                return next ? next : std::noop_coroutine();
            }
            void await_resume() noexcept {}
        };
        Final final_suspend() noexcept { return {}; }
        void return_value(T v) { value = std::move(v); }
        void unhandled_exception() noexcept { std::terminate(); }
    };

    Task() = default;
    Task(Task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
    Task& operator=(Task&& o) noexcept {
        if (this != &o) {
            if (h_) h_.destroy();
            h_ = std::exchange(o.h_, {});
        }
        return *this;
    }
    Task(const Task&) = delete;
    Task& operator=(const Task&) = delete;
    ~Task() {
        if (h_) h_.destroy();
    }

    // Awaiting a task runs it until it suspends on something else or finishes.
    bool await_ready() const noexcept { return false; }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> caller) noexcept {
        h_.promise().continuation = caller;
        return h_;
    }
    T await_resume() { return std::move(*h_.promise().value); }

    // For the top-level task: run until the first suspension.
    void start() { h_.resume(); }
    bool done() const { return h_ && h_.done(); }
    T& result() { return *h_.promise().value; }

private:
    explicit Task(std::coroutine_handle<promise_type> h) : h_(h) {}
    std::coroutine_handle<promise_type> h_;
};

}  // namespace asmtpd::proto::spf

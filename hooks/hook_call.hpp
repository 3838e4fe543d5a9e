// hook_call.hpp - the one-shot continuation a handler resolves with its Verdict.
//
// Rules: copies share one answer, so a HookCall can be captured by value in any callback
// (std::function included) with no make_shared around it. resolve() may be called at once
// (inside the handler) or later from any loop callback, through any copy. A second resolve()
// is logged and ignored. A resolve after the chain moved on (deadline, RSET, disconnect) is
// dropped silently: the call carries the chain's token. When the last copy goes away without
// an answer, the call resolves to DENYSOFT "internal plugin error" and logs a bug, so a
// forgotten continuation never hangs a session.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "hooks/result.hpp"

namespace asmtpd::hooks {

// Implemented by the chain runner; lives as long as the session's chain state.
class HookSink {
public:
    virtual ~HookSink() = default;
    virtual void hook_resolved(std::uint64_t token, Verdict v) = 0;
    virtual void hook_double_resolve(std::uint64_t token) = 0;
    // True while the chain still waits for the call with this token.
    virtual bool hook_wanted(std::uint64_t token) const = 0;
};

class HookCall {
public:
    HookCall() = default;   // detached: resolving does nothing (used for ignored-result hooks)
    HookCall(std::weak_ptr<HookSink> sink, std::uint64_t token)
        : state_(std::make_shared<State>(std::move(sink), token)) {}

    // const: a copy captured in a callback resolves the shared answer (the handle never changes).
    void resolve(Verdict v) const;
    // Shorthands
    void declined() const { resolve(Verdict::declined()); }
    void ok(std::string text = {}) const { resolve(Verdict::ok(std::move(text))); }
    void deny(std::string text = {}) const { resolve(Verdict::deny(std::move(text))); }
    void deny_soft(std::string text = {}) const { resolve(Verdict::deny_soft(std::move(text))); }
    void done() const { resolve(Verdict::done()); }

    bool resolved() const { return !state_ || state_->resolved; }
    // True while the chain that made this call still waits for it.
    bool wanted() const;

private:
    struct State {
        State(std::weak_ptr<HookSink> s, std::uint64_t t) : sink(std::move(s)), token(t) {}
        State(const State&) = delete;
        State& operator=(const State&) = delete;
        ~State();
        std::weak_ptr<HookSink> sink;
        std::uint64_t token = 0;
        bool resolved = false;
    };
    std::shared_ptr<State> state_;   // null: detached
};

}  // namespace asmtpd::hooks

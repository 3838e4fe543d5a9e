// hook_call.hpp - the one-shot continuation a handler resolves with its Verdict.
//
// Rules: move-only. resolve() may be called at once (inside the handler) or later from any
// loop callback. A second resolve() is logged and ignored. A resolve after the chain moved on
// (deadline, RSET, disconnect) is dropped silently: the call carries the chain's token. A
// HookCall destroyed without being resolved resolves to DENYSOFT "internal plugin error" and
// logs a bug, so a forgotten continuation never hangs a session.
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
        : sink_(std::move(sink)), token_(token), resolved_(false) {}
    HookCall(HookCall&& o) noexcept { *this = std::move(o); }
    HookCall& operator=(HookCall&& o) noexcept;
    HookCall(const HookCall&) = delete;
    HookCall& operator=(const HookCall&) = delete;
    ~HookCall();

    void resolve(Verdict v);
    // Shorthands
    void declined() { resolve(Verdict::declined()); }
    void ok(std::string text = {}) { resolve(Verdict::ok(std::move(text))); }
    void deny(std::string text = {}) { resolve(Verdict::deny(std::move(text))); }
    void deny_soft(std::string text = {}) { resolve(Verdict::deny_soft(std::move(text))); }

    bool resolved() const { return resolved_; }
    // True while the chain that made this call still waits for it.
    bool wanted() const;

private:
    std::weak_ptr<HookSink> sink_;
    std::uint64_t token_ = 0;
    bool resolved_ = true;   // a default-constructed call needs no answer
    friend class ChainRunner;
};

}  // namespace asmtpd::hooks

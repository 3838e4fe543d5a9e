// hook_call.cpp - the one-shot continuation. See hook_call.hpp for the rules.
#include "hooks/hook_call.hpp"

namespace asmtpd::hooks {

HookCall& HookCall::operator=(HookCall&& o) noexcept {
    if (this != &o) {
        // Overwriting a pending call would lose an answer: resolve it the safe way first.
        if (!resolved_) resolve({Result::DenySoft, "internal plugin error", {}});
        sink_ = std::move(o.sink_);
        token_ = o.token_;
        resolved_ = o.resolved_;
        o.resolved_ = true;
        o.sink_.reset();
    }
    return *this;
}

HookCall::~HookCall() {
    if (!resolved_) resolve({Result::DenySoft, "internal plugin error", {}});
}

void HookCall::resolve(Verdict v) {
    auto sink = sink_.lock();
    if (resolved_) {
        if (sink) sink->hook_double_resolve(token_);
        return;
    }
    resolved_ = true;
    if (sink) sink->hook_resolved(token_, std::move(v));
}

bool HookCall::wanted() const {
    if (resolved_) return false;
    auto sink = sink_.lock();
    return sink && sink->hook_wanted(token_);
}

}  // namespace asmtpd::hooks

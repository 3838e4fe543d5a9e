// hook_call.cpp - the shared one-shot continuation. See hook_call.hpp for the rules.
#include "hooks/hook_call.hpp"

namespace asmtpd::hooks {

HookCall::State::~State() {
    if (resolved) return;
    resolved = true;
    if (auto s = sink.lock()) s->hook_resolved(token, {Result::DenySoft, "internal plugin error", {}});
}

void HookCall::resolve(Verdict v) const {
    if (!state_) return;
    auto sink = state_->sink.lock();
    if (state_->resolved) {
        if (sink) sink->hook_double_resolve(state_->token);
        return;
    }
    state_->resolved = true;
    if (sink) sink->hook_resolved(state_->token, std::move(v));
}

bool HookCall::wanted() const {
    if (!state_ || state_->resolved) return false;
    auto sink = state_->sink.lock();
    return sink && sink->hook_wanted(state_->token);
}

}  // namespace asmtpd::hooks

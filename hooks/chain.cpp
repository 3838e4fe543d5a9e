// chain.cpp - the hook chain runner: a cursor over the hook's handlers plus a one-shot
// continuation per call (see chain.hpp for the rules).
#include "hooks/chain.hpp"

#include <chrono>
#include <exception>

namespace asmtpd::hooks {

namespace {
std::uint64_t steady_ns() {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
}
}  // namespace

void ChainRunner::observe(const Plugin& p, ChainObserver::Answer a, Result r) {
    if (!observer_) return;
    const std::uint64_t now = steady_ns();
    observer_->plugin_answered(hook_, p, a, r, now > call_started_ns_ ? now - call_started_ns_ : 0);
}

std::shared_ptr<ChainRunner> ChainRunner::create(const io::Reactor& reactor, std::shared_ptr<const Registry> registry,
                                                 Context& ctx, io::Log log) {
    return std::shared_ptr<ChainRunner>(new ChainRunner(reactor, std::move(registry), ctx, std::move(log)));
}

ChainRunner::ChainRunner(const io::Reactor& reactor, std::shared_ptr<const Registry> registry, Context& ctx,
                         io::Log log)
    : registry_(std::move(registry)), ctx_(ctx), log_(std::move(log)), deadline_(reactor.timer()) {}

ChainRunner::~ChainRunner() = default;

void ChainRunner::run(Hook hook, HookArgs args, Done done) {
    if (running_) {
        // A second chain while one runs is a session bug; answer it safely rather than corrupt
        // the first chain's cursor.
        log_.error("hook {} started while {} is still running", hook_name(hook), hook_name(hook_));
        done({Result::DenySoft, "internal error", {}}, nullptr);
        return;
    }
    if (args.index() != args_index(hook)) {
        // The session passed another hook's arguments: a bug no handler should have to survive.
        log_.error("hook {} started with the wrong argument type", hook_name(hook));
        done({Result::DenySoft, "internal error", {}}, nullptr);
        return;
    }
    running_ = true;
    rewrite_.reset();
    hook_ = hook;
    args_ = std::move(args);
    done_ = std::move(done);
    index_ = 0;
    advance();
}

void ChainRunner::advance() {
    auto keep = shared_from_this();   // a Done callback may drop the session's reference
    while (running_) {
        const auto& entries = registry_->entries(hook_);
        if (index_ >= entries.size()) {
            finish(Verdict::declined(), nullptr);
            return;
        }
        const HookEntry& entry = entries[index_];
        const std::uint64_t token = next_token_++;
        token_ = token;
        in_call_ = true;
        have_sync_ = false;
        if (observer_) call_started_ns_ = steady_ns();
        bool threw = false;
        try {
            entry.handler(ctx_, args_, HookCall(weak_from_this(), token));
        } catch (const std::exception& e) {
            threw = true;
            log_.error("FATAL PLUGIN ERROR [{}] in {}: {}", entry.plugin->name(), hook_name(hook_), e.what());
        } catch (...) {
            threw = true;
            log_.error("FATAL PLUGIN ERROR [{}] in {}: unknown exception", entry.plugin->name(), hook_name(hook_));
        }
        in_call_ = false;
        if (!running_ || token_ != token) return;   // cancelled from inside the handler
        if (threw) {
            // qpsmtpd: a plugin that dies is skipped, the chain goes on as if it had DECLINED.
            observe(*entry.plugin, ChainObserver::Answer::Exception, Result::Declined);
            have_sync_ = false;
            ++index_;
            continue;
        }
        if (have_sync_) {
            have_sync_ = false;
            Verdict v = std::move(sync_verdict_);
            log_.debug("{} [{}] -> {}", hook_name(hook_), entry.plugin->name(), to_string(v.result));
            observe(*entry.plugin, ChainObserver::Answer::Verdict, v.result);
            if (next_plugin(v)) continue;
            finish(std::move(v), entry.plugin);
            return;
        }
        // The plugin answers later: arm its deadline and return to the loop.
        const Plugin* plugin = entry.plugin;
        deadline_->start(static_cast<std::uint64_t>(plugin->timeout().count()), [this, token, plugin] {
            if (!running_ || token_ != token) return;
            log_.warn("plugin timeout: [{}] did not answer {} within {} ms", plugin->name(),
                      hook_name(hook_), plugin->timeout().count());
            token_ = 0;
            observe(*plugin, ChainObserver::Answer::Timeout, Result::DenySoft);
            finish({Result::DenySoft, "plugin timeout", {}}, plugin);
        });
        return;
    }
}

void ChainRunner::hook_resolved(std::uint64_t token, Verdict v) {
    if (!running_ || token == 0 || token != token_) {
        log_.debug("late plugin answer dropped ({})", to_string(v.result));
        return;
    }
    if (in_call_) {
        have_sync_ = true;
        sync_verdict_ = std::move(v);
        return;
    }
    deadline_->stop();
    const Plugin* plugin = registry_->entries(hook_)[index_].plugin;
    log_.debug("{} [{}] -> {} (async)", hook_name(hook_), plugin->name(), to_string(v.result));
    observe(*plugin, ChainObserver::Answer::Verdict, v.result);
    if (next_plugin(v)) {
        advance();
        return;
    }
    auto keep = shared_from_this();
    finish(std::move(v), plugin);
}

bool ChainRunner::next_plugin(Verdict& v) {
    if (v.result != Result::Declined) return false;
    if (v.address) rewrite_ = std::move(v.address);
    ++index_;
    return true;
}

void ChainRunner::hook_double_resolve(std::uint64_t token) {
    log_.error("plugin resolved a hook call twice (token {}); second answer ignored", token);
}

void ChainRunner::finish(Verdict v, const Plugin* by) {
    running_ = false;
    token_ = 0;
    deadline_->stop();
    Hook hook = hook_;
    if (!v.address && rewrite_) v.address = std::move(rewrite_);
    rewrite_.reset();
    const Hook side = is_deny(v.result) ? Hook::Deny : Hook::Ok;
    // Most configurations have no deny/ok observer: build their arguments only for one.
    if (by && !hook_result_ignored(hook) && registry_->has(side)) notify(side, OutcomeArgs{hook, by->name(), v});
    Done done = std::move(done_);
    done_ = nullptr;
    args_ = NoArgs{};
    if (done) done(std::move(v), by);
}

void ChainRunner::notify(Hook hook, const HookArgs& args) {
    if (args.index() != args_index(hook)) {
        log_.error("hook {} notified with the wrong argument type", hook_name(hook));
        return;
    }
    for (const HookEntry& entry : registry_->entries(hook)) {
        try {
            entry.handler(ctx_, args, HookCall());
        } catch (const std::exception& e) {
            log_.error("FATAL PLUGIN ERROR [{}] in {}: {}", entry.plugin->name(), hook_name(hook), e.what());
        } catch (...) {
            log_.error("FATAL PLUGIN ERROR [{}] in {}", entry.plugin->name(), hook_name(hook));
        }
    }
}

void ChainRunner::cancel() {
    running_ = false;
    token_ = 0;
    have_sync_ = false;
    deadline_->stop();
    done_ = nullptr;
}

}  // namespace asmtpd::hooks

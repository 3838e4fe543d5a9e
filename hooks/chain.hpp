// chain.hpp - runs one hook's handlers in config order until one answers something other than
// DECLINED (qpsmtpd's run_continuation), asynchronously and with a deadline per call.
//
// Rules:
// - One chain at a time per session. Handlers that resolve inside the call are looped over,
//   never recursed into, so a long chain of synchronous plugins uses constant stack.
// - Every call carries a token; cancel(), a deadline or the session's end change the token so
//   late answers are dropped. A deadline resolves DENYSOFT "plugin timeout".
// - After a chain ends, the deny (any DENY*) or ok side hooks are notified; their results are
//   ignored. notify() runs ignored-result hooks (reset_transaction, disconnect, ...): every
//   handler is called in order with a detached HookCall.
// - An address rewrite (Verdict::address) on a DECLINED answer is carried to the chain's final
//   verdict unless that verdict brings its own: the last rewrite wins.
// - The Done callback runs from the resolving stack; it may start the next chain.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "core/io/log.hpp"
#include "core/io/reactor.hpp"
#include "core/io/timer.hpp"
#include "hooks/plugin.hpp"
#include "hooks/registry.hpp"

namespace asmtpd::hooks {

class ChainRunner final : public HookSink, public std::enable_shared_from_this<ChainRunner> {
public:
    using Done = std::function<void(Verdict verdict, const Plugin* by)>;

    static std::shared_ptr<ChainRunner> create(const io::Reactor& reactor, std::shared_ptr<const Registry> registry,
                                               Context& ctx, io::Log log);
    ~ChainRunner() override;

    void run(Hook hook, HookArgs args, Done done);
    void notify(Hook hook, const HookArgs& args);
    void cancel();
    bool busy() const { return running_; }
    Hook current() const { return hook_; }

    // HookSink
    void hook_resolved(std::uint64_t token, Verdict v) override;
    void hook_double_resolve(std::uint64_t token) override;
    bool hook_wanted(std::uint64_t token) const override { return running_ && token != 0 && token == token_; }

private:
    ChainRunner(const io::Reactor& reactor, std::shared_ptr<const Registry> registry, Context& ctx, io::Log log);
    void advance();                 // the loop over handlers
    void finish(Verdict v, const Plugin* by);
    bool next_plugin(Verdict& v);   // a DECLINED answer: keep its rewrite, move on

    std::shared_ptr<const Registry> registry_;
    Context& ctx_;
    io::Log log_;
    std::unique_ptr<io::Timer> deadline_;

    bool running_ = false;
    Hook hook_ = Hook::Count_;
    HookArgs args_;
    Done done_;
    std::size_t index_ = 0;         // handler being called / waited for
    std::uint64_t token_ = 0;       // current call's token; 0 = none wanted
    std::uint64_t next_token_ = 1;
    bool in_call_ = false;          // inside a handler invocation (synchronous resolve)
    bool have_sync_ = false;        // a synchronous verdict is waiting for advance()
    Verdict sync_verdict_;
    std::optional<proto::Address> rewrite_;   // from a DECLINED answer, for the final verdict
};

}  // namespace asmtpd::hooks

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

// What a chain reports about each plugin call, for the daemon's metrics (core/smtp/metrics).
// Called on the loop thread; must be cheap and must not call back into the chain.
class ChainObserver {
public:
    enum class Answer { Verdict, Timeout, Exception };
    virtual ~ChainObserver() = default;
    // One plugin's answer to one hook call; ns from the call to the answer (or the deadline).
    // result is the plugin's verdict (Answer::Verdict), else meaningless.
    virtual void plugin_answered(Hook hook, const Plugin& plugin, Answer answer, Result result, std::uint64_t ns) = 0;
};

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
    // Told about every plugin call of run() (not notify()); null: nobody. Must outlive the runner.
    void set_observer(ChainObserver* o) { observer_ = o; }
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
    void observe(const Plugin& p, ChainObserver::Answer a, Result r);

    std::shared_ptr<const Registry> registry_;
    Context& ctx_;
    io::Log log_;
    std::unique_ptr<io::Timer> deadline_;
    ChainObserver* observer_ = nullptr;
    std::uint64_t call_started_ns_ = 0;   // steady clock, when the current handler was called (observer only)

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

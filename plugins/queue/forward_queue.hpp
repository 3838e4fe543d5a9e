// forward_queue.hpp - the queue-hook half that queue/smtp_forward and queue/lmtp share: the
// envelope from the transaction, one pool per worker loop, and resolving the HookCall with the
// plugin's judgement of the next hop's answer.
//
// Rules: the HookCall is resolved exactly once, from a loop callback, with the Verdict the
// plugin's decide() returns (or 451 when there is nothing to send). The pool job asks the
// HookCall whether it is still wanted before DATA and before the final dot. Nothing here
// keeps a pointer to the plugin or the session: a delivery may outlive both.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>


#include "hooks/context.hpp"
#include "hooks/hook_call.hpp"
#include "core/client/smtp_client.hpp"
#include "core/client/smtp_pool.hpp"
#include "hooks/transaction.hpp"

namespace asmtpd::plugins {

// The transaction as the next hop gets it; nullopt (with a reason) when there is nothing
// that could be sent (no sender, no recipient, no body or a failed spool).
std::optional<client::Envelope> envelope_of(const hooks::Transaction& t, std::string& why);

// One SmtpPool per loop. A plugin object serves every session of a configuration load, and
// sessions on different worker loops must not share sockets or timers.
class PoolSet {
public:
    PoolSet(client::ClientConfig config, std::string helo_name)
        : config_(std::move(config)), helo_name_(std::move(helo_name)) {}
    ~PoolSet();   // shuts every pool down; deliveries in flight keep theirs until done
    PoolSet(const PoolSet&) = delete;
    PoolSet& operator=(const PoolSet&) = delete;

    std::shared_ptr<client::SmtpPool> for_loop(const io::Reactor& reactor);
    const client::ClientConfig& config() const { return config_; }

private:
    client::ClientConfig config_;
    std::string helo_name_;
    std::mutex mu_;
    std::map<const void*, std::shared_ptr<client::SmtpPool>> pools_;   // by Reactor::loop_id()
};

using Decide = std::function<hooks::Verdict(const client::DeliveryReport&, const client::Envelope&)>;

// Runs one queue hook call: envelope, delivery, decide(report), resolve. `tag` names the
// plugin in log lines.
void forward_message(hooks::Context& ctx, hooks::HookCall call, PoolSet& pools, const std::string& tag, Decide decide);

}  // namespace asmtpd::plugins

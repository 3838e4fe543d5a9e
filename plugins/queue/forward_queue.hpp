// forward_queue.hpp - the queue-hook half that queue/smtp_forward and queue/lmtp share: the
// envelope from the transaction, the route (DNS), the pools per worker loop and address, and
// resolving the HookCall with the plugin's judgement of the next hop's answer.
//
// Rules: the HookCall is resolved exactly once, from a loop callback (or at once when there
// is nothing to send), with the Verdict the plugin's decide() returns, combined over the
// recipient domains in "mx" mode. Addresses of a route are tried in order while nothing of
// the transaction was sent (connect, greeting or EHLO failed); one total_timeout covers the
// DNS lookups and every attempt. The pool job asks the HookCall whether it is still wanted
// before DATA and before the final dot. Nothing here keeps a pointer to the plugin or the
// session once the DNS lookups are done (those run in the session's DnsScope and die with
// it): a delivery may outlive both.
#pragma once

#include <functional>
#include <memory>
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

// The pools of one plugin: one SmtpPool per (worker loop, next-hop address). A plugin object
// serves every session of a configuration load, and sessions on different worker loops must
// not share sockets or timers. Keyed by the resolved address, not the name: two names (or two
// recipient domains behind the same MX host) share connections to one server, a DNS change
// applies to the next delivery without flushing anything, and max_connections bounds what
// one server gets from one worker. Pools with nothing open or waiting are dropped when many
// addresses have been seen (MX mode meets many).
class PoolSet {
public:
    PoolSet(client::ClientConfig config, std::string helo_name);
    ~PoolSet();   // shuts every pool down; deliveries in flight keep theirs until done
    PoolSet(const PoolSet&) = delete;
    PoolSet& operator=(const PoolSet&) = delete;

    const client::ClientConfig& config() const;

    struct State;   // shared with the deliveries in flight, which may outlive the plugin

    const std::shared_ptr<State>& state() const { return state_; }

private:
    std::shared_ptr<State> state_;
};

using Decide = std::function<hooks::Verdict(const client::DeliveryReport&, const client::Envelope&)>;

// Runs one queue hook call: the envelope, its route(s) (DNS when the next hop is a name or
// "mx"), the delivery, decide(report) per route, one verdict (delivery_verdict.hpp's
// combine_domains), resolve. `tag` names the plugin in log lines.
void forward_message(hooks::Context& ctx, hooks::HookCall call, PoolSet& pools, const std::string& tag, Decide decide);

}  // namespace asmtpd::plugins

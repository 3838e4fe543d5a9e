// forward_queue.cpp - queue hook plumbing shared by the SMTP and LMTP forwarders (see header).
//
// Must never: resolve before the pool answers (except when there is nothing to send), capture
// the Context or the plugin in the completion (the session may be gone by then), or let the
// done callback run without resolving the call.
#include "plugins/queue/forward_queue.hpp"

#include "core/proto/text.hpp"
#include "plugins/queue/delivery_verdict.hpp"

namespace asmtpd::plugins {

std::optional<client::Envelope> envelope_of(const hooks::Transaction& t, std::string& why) {
    if (!t.sender) {
        why = "no sender";
        return std::nullopt;
    }
    if (t.recipients.empty()) {
        why = "no recipient";
        return std::nullopt;
    }
    if (!t.body) {
        why = "no message body";
        return std::nullopt;
    }
    if (t.body->failed()) {
        why = "the message spool failed";
        return std::nullopt;
    }
    client::Envelope e;
    e.id = t.id;
    e.sender = t.sender->format();
    for (const auto& r : t.recipients) e.recipients.push_back(r.format());
    for (const auto& p : t.mail_params) {
        if (p.keyword == "BODY" && p.value && proto::to_lower(*p.value) == "8bitmime") e.body_8bit = true;
        if (p.keyword == "SMTPUTF8") e.smtputf8 = true;
    }
    e.header_prefix = t.header_prefix();
    e.body = t.body;
    return e;
}

PoolSet::~PoolSet() {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [loop, pool] : pools_) pool->shutdown();
}

std::shared_ptr<client::SmtpPool> PoolSet::for_loop(const io::Reactor& reactor) {
    std::lock_guard<std::mutex> lock(mu_);
    auto& slot = pools_[reactor.loop_id()];
    if (!slot) slot = client::SmtpPool::create(reactor, config_, helo_name_);
    return slot;
}

void forward_message(hooks::Context& ctx, hooks::HookCall call, PoolSet& pools, const std::string& tag, Decide decide) {
    io::Log log = ctx.log();
    const hooks::Transaction* txn = ctx.transaction();
    std::string why = "no transaction";
    std::optional<client::Envelope> env = txn ? envelope_of(*txn, why) : std::nullopt;
    if (!env) {
        log.error("{}: nothing to forward: {}", tag, why);
        call.resolve(soft_failure("local error"));
        return;
    }
    const std::string hop = pools.config().hop.describe();
    auto wanted = [call] { return call.wanted(); };
    client::Envelope brief = *env;   // the completion needs the envelope, not the message
    brief.header_prefix.clear();
    brief.body.reset();
    auto done = [call, log, tag, hop, decide = std::move(decide), env_copy = std::move(brief)](client::DeliveryReport r) {
        hooks::Verdict v = decide(r, env_copy);
        if (v.result == hooks::Result::Ok) log.info("{}: {} handed to {}: {}", tag, env_copy.id, hop, describe(r));
        else log.warn("{}: {} not accepted by {}: {} -> {}", tag, env_copy.id, hop, describe(r),
                      v.reply ? v.reply->summary() : v.text);
        call.resolve(std::move(v));
    };
    pools.for_loop(ctx.reactor())->deliver(std::move(*env), log, std::move(wanted), std::move(done));
}

}  // namespace asmtpd::plugins

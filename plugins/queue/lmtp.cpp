// NAME
//   queue/lmtp - deliver accepted mail over LMTP (RFC 2033), e.g. to Dovecot or Cyrus.
// SYNOPSIS
//   queue/lmtp HOST[:PORT] | /path/to/socket  [max_connections N] [timeout S]
//              [connect_timeout S] [data_timeout S] [idle_timeout S] [total_timeout S]
//   HOST as for queue/smtp_forward (IP literal, localhost, or a host name resolved per
//   delivery, addresses tried in order; DNS failure or no address: 451 4.4.3); PORT defaults
//   to 24. A path starting with "/" is a Unix-domain socket. Timeouts (dns_timeout too) and
//   the pool as queue/smtp_forward; no "mx".
// CONFIG
//   none (LHLO uses asmtpd.yaml's hostname)
// HOOKS
//   queue: LHLO, MAIL, RCPT for each recipient (DATA only if all were accepted; DSN's
//   parameters when LHLO offers DSN, else dropped and logged), the message,
//   then one reply per recipient after the final dot:
//   - all 2xx: 250 "Queued as <id> (<first reply>)";
//   - all 5xx: the first one's code, enhanced code and text (DENY);
//   - anything else (a 4xx, or 2xx and 5xx mixed): 451 4.3.0, every recipient's status in
//     the log. DUPLICATE RISK: the recipients that got 2xx already have the message, and our
//     client retries the whole message after a 451, so they will get it again. SMTP has no
//     way to accept a message for some recipients after DATA; a duplicate is the price of
//     never losing the recipients that failed (RFC 5321 §6.1 accepts duplicates, never loss).
//   RCPT refusals and failures map as for queue/smtp_forward (plugins/queue/delivery_verdict.hpp).
// Rules: as queue/smtp_forward.
#include <memory>
#include <string>

#include "plugins/queue/delivery_verdict.hpp"
#include "plugins/queue/forward_queue.hpp"
#include "hooks/plugin.hpp"

namespace asmtpd::plugins {

namespace {

class Lmtp final : public hooks::Plugin {
public:
    std::optional<std::string> init(const hooks::PluginInit& in) override {
        client::ClientConfig cfg;
        if (auto err = client::parse_client_config(in.line.args, client::NextHopProtocol::Lmtp, cfg)) return err;
        const auto mine = std::chrono::milliseconds(cfg.limits.total_ms + 5000);
        if (timeout() < mine) set_timeout(mine);
        pools_ = std::make_unique<plugins::PoolSet>(std::move(cfg), in.server.hostname);
        return std::nullopt;
    }

    void register_hooks(hooks::Registrar& r) override { r.on<hooks::Hook::Queue>(&Lmtp::on_queue); }

private:
    static hooks::Verdict decide(const client::DeliveryReport& r, const client::Envelope& env, const io::Log& log) {
        if (auto early = plugins::verdict_before_final(r)) return *early;
        const auto& fin = r.final_replies;
        if (fin.size() != env.recipients.size() || fin.empty()) return plugins::soft_failure("next hop protocol error");
        std::size_t ok = 0, permanent = 0;
        for (const auto& x : fin) {
            if (x.klass() == 2) ++ok;
            else if (x.permanent()) ++permanent;
        }
        if (ok == fin.size()) return hooks::Verdict::ok("Queued as " + env.id + " (" + fin.front().summary() + ")");
        if (permanent == fin.size()) return plugins::pass_refusal(fin.front());
        for (std::size_t i = 0; i < fin.size(); ++i)
            log.warn("queue/lmtp: {} recipient {}: {}{}", env.id, env.recipients[i], fin[i].summary(),
                     fin[i].klass() == 2 ? " (delivered; will be delivered again when the client retries)" : "");
        return plugins::soft_failure("delivery failed for some recipients");
    }

    void on_queue(hooks::Context& ctx, const hooks::NoArgs&, hooks::HookCall call) {
        io::Log log = ctx.log();
        plugins::forward_message(ctx, std::move(call), *pools_, name(),
                               [log](const client::DeliveryReport& r, const client::Envelope& env) {
                                   return decide(r, env, log);
                               });
    }

    std::unique_ptr<plugins::PoolSet> pools_;
};

}  // namespace

std::unique_ptr<hooks::Plugin> make_queue_lmtp() { return std::make_unique<Lmtp>(); }

}  // namespace asmtpd::plugins

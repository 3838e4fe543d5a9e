// NAME
//   queue/smtp_forward - hand accepted mail to the next hop over SMTP before saying 250: a
//   configured relay, or each recipient domain's MX hosts.
// SYNOPSIS
//   queue/smtp_forward HOST[:PORT] | mx  [max_connections N] [timeout S] [connect_timeout S]
//                      [data_timeout S] [idle_timeout S] [total_timeout S] [dns_timeout S]
//                      [port N] [tls none|opportunistic|required] [tls_verify yes|no]
//                      [ca_file PATH] [tls_name NAME] [auth_user USER]
//                      [auth_pass_file PATH | auth_pass PASSWORD] [auth_plaintext yes|no]
//   HOST is an IP literal ("192.0.2.7", "[2001:db8::7]:2525"), localhost, or a host name,
//   resolved per delivery (A, then AAAA; cached by TTL) and tried address by address. "mx"
//   routes each recipient domain by DNS (RFC 5321 §5.1); `port N` (mx only, default 25) is the
//   MX hosts' port. PORT defaults to 25. Defaults: max_connections 20 per worker and address,
//   timeout 60 (greeting, each command reply, each body write), connect_timeout 10,
//   data_timeout 300 (reply to the final dot), idle_timeout 30, total_timeout 540 (the whole
//   hand-off, DNS included, under RFC 5321's 10-minute client wait), dns_timeout 5.
//   STARTTLS and AUTH towards a smarthost (core/client/next_hop.hpp's ClientSecurity,
//   core/client/smtp_client_secure.cpp; docs/plugins.md): tls default none; tls_verify
//   default yes with required; the password preferably from auth_pass_file (first line), so
//   it is not in config/plugins; AUTH never without TLS unless auth_plaintext yes.
// CONFIG
//   none (EHLO uses asmtpd.yaml's hostname; DNS uses its dns: section)
// HOOKS
//   queue: the message goes out on a pooled connection (RSET between messages, PIPELINING
//   when offered, SIZE=, DSN's RET/ENVID/NOTIFY/ORCPT when offered (else dropped, logged),
//   dot-stuffed from the spool). A next-hop address that refuses the
//   connection, times out connecting, or refuses the greeting or EHLO is skipped for the next
//   one (nothing of the message went out). Our client gets:
//   - 250 "Queued as <id> (<next hop's reply>)" only when the next hop answered the final
//     dot with 2xx (P1: its 2xx is its promise to keep the message); in mx mode only when
//     every recipient domain's next hop did;
//   - the next hop's own 5xx (code, enhanced code or 5.0.0, text) when it refused MAIL, DATA
//     or the message, or refused every recipient with 5xx (mx: only when no domain had taken
//     the message before);
//   - mx: 556 5.1.10 for a null-MX domain (RFC 7505), 550 5.4.4 for a domain that does not
//     exist or has neither MX nor address; nothing is sent to any domain then;
//   - 451 4.4.3 when DNS fails (SERVFAIL, timeout; for HOST also no address); nothing sent;
//   - 451 4.4.6 "Mail loops back to me" when the next hop greets with our own host name;
//   - 451 4.7.5 when STARTTLS is required but not offered or refused, or the handshake or
//     the certificate check fails; 451 4.7.0 when AUTH cannot be done or is refused;
//   - 451 4.3.0 otherwise: any 4xx, a refused recipient next to accepted ones (our client has
//     a 250 for each recipient already, and a 5xx would bounce the accepted ones too, so the
//     whole message is retried later), a domain failing after another took the message, a
//     greeting/EHLO refusal at the last address, timeout, refused or lost connection,
//     malformed reply (P2).
//   DUPLICATES: if the connection fails after the dot went out, or a later recipient domain
//   fails after an earlier one took the message, those next hops hold a copy and our client
//   will send it again (logged); RFC 5321 §6.1 accepts a duplicate, a loss never.
// Rules: plugin state is configuration only; connections live in per-loop, per-address pools
// (core/client/smtp_pool.hpp) that outlive a reload until their deliveries end. Routing is
// plugins/queue/forward_queue.cpp over core/client/route_lookup.hpp.
#include <memory>
#include <string>

#include "core/client/client_tls.hpp"
#include "plugins/queue/delivery_verdict.hpp"
#include "plugins/queue/forward_queue.hpp"
#include "hooks/plugin.hpp"

namespace asmtpd::plugins {

namespace {

hooks::Verdict decide(const client::DeliveryReport& r, const client::Envelope& env) {
    if (auto early = plugins::verdict_before_final(r)) return *early;
    if (r.final_replies.size() != 1) return plugins::soft_failure("next hop protocol error");
    const proto::Reply& fin = r.final_replies.front();
    if (fin.klass() == 2) return hooks::Verdict::ok("Queued as " + env.id + " (" + fin.summary() + ")");
    return plugins::pass_refusal(fin);
}

class SmtpForward final : public hooks::Plugin {
public:
    std::optional<std::string> init(const hooks::PluginInit& in) override {
        client::ClientConfig cfg;
        if (auto err = client::parse_client_config(in.line.args, client::NextHopProtocol::Smtp, cfg)) return err;
        // ca_file and auth_pass_file: relative names from the config directory.
        cfg.security.ca_file = in.server.path(cfg.security.ca_file);
        cfg.security.auth_pass_file = in.server.path(cfg.security.auth_pass_file);
        if (auto err = client::load_client_security(cfg.security)) return err;
        // Our own total deadline must fire first: it knows why, and it withholds the dot.
        const auto mine = std::chrono::milliseconds(cfg.limits.total_ms + 5000);
        if (timeout() < mine) set_timeout(mine);
        pools_ = std::make_unique<plugins::PoolSet>(std::move(cfg), in.server.hostname);
        return std::nullopt;
    }

    void register_hooks(hooks::Registrar& r) override { r.on<hooks::Hook::Queue>(&SmtpForward::on_queue); }

private:
    void on_queue(hooks::Context& ctx, const hooks::NoArgs&, hooks::HookCall call) {
        plugins::forward_message(ctx, std::move(call), *pools_, name(), &decide);
    }

    std::unique_ptr<plugins::PoolSet> pools_;
};

}  // namespace

std::unique_ptr<hooks::Plugin> make_queue_smtp_forward() { return std::make_unique<SmtpForward>(); }

}  // namespace asmtpd::plugins

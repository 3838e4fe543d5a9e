// NAME
//   limit - per-client and per-subnet limits on concurrent sessions, connection and recipient
//   rates, recipients, messages, unknown commands and errors (Haraka's limit plugin).
// SYNOPSIS
//   limit [concurrency N] [rate_conn N[/P]] [rate_rcpt_host N[/P]] [rate_rcpt_sender N[/P]]
//         [rate_rcpt N[/P]] [rate_rcpt_null N[/P]] [recipients N] [messages N]
//         [unrecognized_commands N] [errors N] [tarpit_delay S] [timeout S] [on_error accept|defer]
//   Each section named here is enabled with VALUE as its default; asmtpd.yaml `limit:` holds
//   Haraka's limit.ini sections (lookups per address prefix, name, sender, recipient; history
//   by karma): core/proto/limit_config.hpp, docs/plugins.md §7.
// HOOKS (one state store round trip at connect and at rcpt, none elsewhere)
//   pre_connection
//               when the connect sections look up the address only (no names, no history):
//               starts the connect batch (counted here, as Haraka's connect_pre), so that it
//               shares a round trip with karma's read.
//   connect     concurrency (counter +1), rate_conn (sliding window), rate_rcpt_host (read):
//               over a limit: 421 4.7.0, disconnect.
//   helo, ehlo, mail, rcpt, data
//               errors: more than `max` error replies so far: 421 4.7.0, disconnect.
//   rcpt        recipients (attempts in this connection; `max_relaying` for relay clients),
//               rate_rcpt_host, rate_rcpt_sender, rate_rcpt, rate_rcpt_null (null sender):
//               fixed-window counters: 451 4.7.1.
//   data        messages (DATA commands in this connection): 451 4.7.1.
//   unrecognized_command
//               more than `max`: 421 4.7.0, disconnect.
//   disconnect  concurrency counter -1 (fire and forget).
// NOTES
//   connection "limit": what the last check found ("concurrency 2/3", "rate_conn 6/5: fail").
// FAIL MODES
//   The store does not answer (unavailable, past `timeout`): on_error accept (default) logs a
//   warning and lets the session go on; on_error defer answers 421 4.3.0 at connect and
//   451 4.3.0 at rcpt. Concurrency counters live `concurrency.ttl` (300 s) from their first
//   increment, so a crashed worker's sessions stop counting by then.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "core/io/state_store.hpp"
#include "core/proto/limit_config.hpp"
#include "core/proto/plugin_args.hpp"
#include "core/proto/reply.hpp"
#include "hooks/plugin.hpp"

namespace asmtpd::plugins {

namespace {

constexpr std::string_view kNote = "limit";
constexpr std::string_view kConcurrencyNote = "limit.concurrency";   // the counter to give back
constexpr std::string_view kRcptNote = "limit.recipients";
constexpr std::string_view kMsgNote = "limit.messages";
constexpr std::string_view kUnrecNote = "limit.unrecognized_commands";
constexpr std::string_view kKarmaNote = "karma_score";

std::optional<std::int64_t> karma_score(hooks::Context& ctx) {
    auto it = ctx.notes().find(kKarmaNote);
    if (it == ctx.notes().end() || it->second.empty()) return std::nullopt;
    const std::string& s = it->second;
    bool neg = s[0] == '-';
    auto n = proto::parse_count(std::string_view(s).substr(neg || s[0] == '+' ? 1 : 0));
    if (!n || *n > 1000000000) return std::nullopt;
    return neg ? -static_cast<std::int64_t>(*n) : static_cast<std::int64_t>(*n);
}

std::uint64_t bump(hooks::Notes& notes, std::string_view key) {
    auto& v = notes[std::string(key)];
    std::uint64_t n = proto::parse_count(v).value_or(0) + 1;
    v = std::to_string(n);
    return n;
}

// One check of a batch: its store op's index and what it decides.
struct Check {
    std::string what;     // "rate_conn"
    std::string key;      // the counter
    std::uint64_t limit;
    std::size_t op;
};

class Limit final : public hooks::Plugin {
public:
    std::optional<std::string> init(const hooks::PluginInit& in) override {
        if (auto e = proto::parse_limit_args(in.line.args, cfg_)) return e;
        if (in.settings)
            if (auto e = proto::parse_limit_settings(*in.settings, cfg_)) return e;
        if (cfg_.tarpit_delay_ms) set_timeout(in.server.plugin_timeout + std::chrono::milliseconds(cfg_.tarpit_delay_ms));
        return std::nullopt;
    }

    void register_hooks(hooks::Registrar& r) override {
        if (cfg_.concurrency.enabled || cfg_.rate_conn.enabled || cfg_.rate_rcpt_host.enabled) {
            if (connect_early()) r.on<hooks::Hook::PreConnection>(&Limit::on_pre_connection);
            r.on<hooks::Hook::Connect>(&Limit::on_connect);
        }
        if (cfg_.concurrency.enabled) r.on<hooks::Hook::Disconnect>(&Limit::on_disconnect);
        if (cfg_.errors.enabled) {
            r.on<hooks::Hook::Helo>(&Limit::on_helo);
            r.on<hooks::Hook::Ehlo>(&Limit::on_helo);
            r.on<hooks::Hook::Mail>(&Limit::on_mail);
        }
        if (cfg_.errors.enabled || cfg_.recipients.enabled || cfg_.rate_rcpt_host.enabled ||
            cfg_.rate_rcpt_sender.enabled || cfg_.rate_rcpt.enabled || cfg_.rate_rcpt_null.enabled)
            r.on<hooks::Hook::Rcpt>(&Limit::on_rcpt);
        if (cfg_.errors.enabled || cfg_.messages.enabled) r.on<hooks::Hook::Data>(&Limit::on_data);
        if (cfg_.unrecognized_commands.enabled) r.on<hooks::Hook::UnrecognizedCommand>(&Limit::on_unrecognized);
    }

private:
    static std::string key(std::string_view what, const std::string& k) { return "limit:" + std::string(what) + ":" + k; }

    // ---- connect ------------------------------------------------------------------------
    struct ConnectBatch {
        std::vector<io::StateOp> ops;
        std::vector<Check> checks;
        std::string concurrency_key;
    };

    // The connect ops; the concurrency counter to give back is noted at once (also when the
    // session ends before the answer).
    ConnectBatch connect_batch(hooks::Context& ctx) const {
        const auto& c = ctx.connection();
        const auto karma = karma_score(ctx);
        ConnectBatch b;
        if (cfg_.concurrency.enabled)
            if (auto m = cfg_.concurrency.for_host(c.remote_ip, c.remote_host, karma); m && m->rate.limit) {
                b.concurrency_key = key("concurrency", m->key);
                b.checks.push_back({"concurrency", b.concurrency_key, m->rate.limit, b.ops.size()});
                b.ops.push_back(io::StateOp::incr(b.concurrency_key, 1, cfg_.concurrency.ttl_ms));
                ctx.notes()[std::string(kConcurrencyNote)] = b.concurrency_key;
            }
        if (cfg_.rate_conn.enabled)
            if (auto m = cfg_.rate_conn.for_host(c.remote_ip, c.remote_host, karma); m && m->rate.limit) {
                b.checks.push_back({"rate_conn", key("rate_conn", m->key), m->rate.limit, b.ops.size()});
                b.ops.push_back(io::StateOp::window_add(b.checks.back().key, m->rate.period_ms));
            }
        if (cfg_.rate_rcpt_host.enabled)
            if (auto m = cfg_.rate_rcpt_host.for_host(c.remote_ip, c.remote_host, karma); m && m->rate.limit) {
                b.checks.push_back({"rate_rcpt_host", key("rate_rcpt_host", m->key), m->rate.limit, b.ops.size()});
                b.ops.push_back(io::StateOp::get(b.checks.back().key));
            }
        return b;
    }

    // The connect sections answer from the address alone: their batch can start before connect
    // (Haraka counts at connect_pre too) and share a round trip with karma's read.
    bool connect_early() const {
        return cfg_.concurrency.by_address_only() && cfg_.rate_conn.by_address_only() &&
               cfg_.rate_rcpt_host.by_address_only();
    }
    static constexpr std::string_view kPrefetch = "limit.connect";

    void on_pre_connection(hooks::Context& ctx, const hooks::NoArgs&, hooks::HookCall call) {
        if (auto b = connect_batch(ctx); !b.ops.empty())
            ctx.state().prefetch(std::string(kPrefetch), std::move(b.ops), cfg_.timeout_ms);
        call.declined();
    }

    void on_connect(hooks::Context& ctx, const hooks::NoArgs&, hooks::HookCall call) {
        auto b = connect_batch(ctx);   // the same as at pre_connection (connect_early)
        if (b.ops.empty()) return call.declined();
        auto* cx = &ctx;   // the scope drops the callback if the session ends first
        auto then = [this, cx, call, checks = std::move(b.checks), concurrency_key = b.concurrency_key](io::StateResult r) {
            if (!r.ok()) {
                // A counter that may not have gone up is not given back.
                if (!concurrency_key.empty()) cx->notes().erase(std::string(kConcurrencyNote));
                return store_failed(*cx, call, r, true);
            }
            for (const auto& ch : checks) {
                const auto& reply = r.replies[ch.op];
                std::int64_t n = reply.number;
                if (ch.what == "concurrency" && n < 1) {
                    // A counter that expired under live sessions went below 1: repair it (Haraka
                    // sets 1; an increment keeps the other sessions' increments meanwhile).
                    cx->state().run({io::StateOp::incr(ch.key, 1 - n, cfg_.concurrency.ttl_ms)}, 0, {});
                    n = 1;
                }
                if (ch.what == "rate_rcpt_host")
                    n = reply.found ? static_cast<std::int64_t>(proto::parse_count(reply.value).value_or(0)) : 0;
                std::string found = ch.what + " " + std::to_string(n) + "/" + std::to_string(ch.limit);
                cx->notes()[std::string(kNote)] = found;
                if (n > static_cast<std::int64_t>(ch.limit)) {
                    cx->notes()[std::string(kNote)] = found + ": fail";
                    cx->log().info("limit: {} ({}), disconnecting", found, ch.key);
                    const char* text = ch.what == "concurrency" ? "Too many concurrent connections"
                                       : ch.what == "rate_conn" ? "connection rate limit exceeded"
                                                                : "recipient rate limit exceeded";
                    return penalize(*cx, call, true, text);
                }
                cx->log().debug("limit: {} ({})", found, ch.key);
            }
            call.declined();
        };
        if (connect_early() && ctx.state().claim(kPrefetch, then)) return;
        ctx.state().run(std::move(b.ops), cfg_.timeout_ms, std::move(then));
    }

    void on_disconnect(hooks::Context& ctx, const hooks::NoArgs&, hooks::HookCall call) {
        auto it = ctx.notes().find(kConcurrencyNote);
        if (it != ctx.notes().end()) {
            ctx.state().run({io::StateOp::incr(it->second, -1, cfg_.concurrency.ttl_ms)}, 0, {});
            ctx.notes().erase(it);
        }
        call.declined();
    }

    // ---- per-connection counts ----------------------------------------------------------
    // Haraka's max_errors: more than `max` error replies so far ends the session.
    bool too_many_errors(hooks::Context& ctx, const hooks::HookCall& call) {
        if (!cfg_.errors.enabled || !cfg_.errors.dflt || !cfg_.errors.dflt->limit) return false;
        const auto n = ctx.connection().errors;
        if (n <= cfg_.errors.dflt->limit) return false;
        ctx.notes()[std::string(kNote)] = "errors " + std::to_string(n) + "/" + std::to_string(cfg_.errors.dflt->limit) + ": fail";
        ctx.log().info("limit: {} errors (max {}), disconnecting", n, cfg_.errors.dflt->limit);
        penalize(ctx, call, true, "Too many errors");
        return true;
    }

    void on_helo(hooks::Context& ctx, const hooks::HeloArgs&, hooks::HookCall call) {
        if (!too_many_errors(ctx, call)) call.declined();
    }
    void on_mail(hooks::Context& ctx, const hooks::AddressArgs&, hooks::HookCall call) {
        if (!too_many_errors(ctx, call)) call.declined();
    }

    void on_data(hooks::Context& ctx, const hooks::NoArgs&, hooks::HookCall call) {
        if (too_many_errors(ctx, call)) return;
        if (cfg_.messages.enabled && cfg_.messages.dflt && cfg_.messages.dflt->limit) {
            const auto n = bump(ctx.notes(), kMsgNote);
            if (n > cfg_.messages.dflt->limit) {
                ctx.notes()[std::string(kNote)] = "messages " + std::to_string(n) + "/" + std::to_string(cfg_.messages.dflt->limit) + ": fail";
                ctx.log().info("limit: message {} of this connection (max {})", n, cfg_.messages.dflt->limit);
                return penalize(ctx, call, false, "Too many messages");
            }
        }
        call.declined();
    }

    void on_unrecognized(hooks::Context& ctx, const hooks::CommandArgs&, hooks::HookCall call) {
        const auto n = bump(ctx.notes(), kUnrecNote);
        const auto max = cfg_.unrecognized_commands.dflt ? cfg_.unrecognized_commands.dflt->limit : 0;
        if (max && n > max) {
            ctx.notes()[std::string(kNote)] = "unrecognized_commands " + std::to_string(n) + "/" + std::to_string(max) + ": fail";
            ctx.log().info("limit: {} unrecognized commands (max {}), disconnecting", n, max);
            return penalize(ctx, call, true, "Too many unrecognized commands");
        }
        call.declined();
    }

    // ---- rcpt ---------------------------------------------------------------------------
    void on_rcpt(hooks::Context& ctx, const hooks::AddressArgs& args, hooks::HookCall call) {
        if (too_many_errors(ctx, call)) return;
        const auto& c = ctx.connection();
        if (cfg_.recipients.enabled) {
            const auto n = bump(ctx.notes(), kRcptNote);
            std::uint64_t max = cfg_.recipients.dflt ? cfg_.recipients.dflt->limit : 0;
            if (c.relay_client && cfg_.recipients.max_relaying) max = cfg_.recipients.max_relaying;
            else if (auto h = cfg_.recipients.history.pick(karma_score(ctx)); h && h->limit) max = h->limit;
            if (max && n > max) {
                ctx.notes()[std::string(kNote)] = "recipients " + std::to_string(n) + "/" + std::to_string(max) + ": fail";
                ctx.log().info("limit: recipient attempt {} of this connection (max {})", n, max);
                return penalize(ctx, call, false, "Too many recipient attempts");
            }
        }
        const auto* t = ctx.transaction();
        const std::string sender = t && t->sender ? t->sender->bare() : std::string();
        const bool null_sender = !t || !t->sender || t->sender->is_null();
        const std::string rcpt = args.address.bare();
        std::vector<io::StateOp> ops;
        std::vector<Check> checks;
        auto add = [&](std::string_view what, const std::optional<proto::LimitMatch>& m) {
            if (!m || !m->rate.limit) return;
            checks.push_back({std::string(what), key(what, m->key), m->rate.limit, ops.size()});
            ops.push_back(io::StateOp::incr(checks.back().key, 1, m->rate.period_ms));
        };
        if (cfg_.rate_rcpt_host.enabled)
            add("rate_rcpt_host", cfg_.rate_rcpt_host.for_host(c.remote_ip, c.remote_host, karma_score(ctx)));
        if (cfg_.rate_rcpt_sender.enabled && !null_sender)
            add("rate_rcpt_sender", cfg_.rate_rcpt_sender.for_address(sender));
        if (cfg_.rate_rcpt.enabled) add("rate_rcpt", cfg_.rate_rcpt.for_address(rcpt));
        if (cfg_.rate_rcpt_null.enabled && null_sender) add("rate_rcpt_null", cfg_.rate_rcpt_null.for_address(rcpt));
        if (ops.empty()) return call.declined();
        auto* cx = &ctx;
        ctx.state().run(std::move(ops), cfg_.timeout_ms, [this, cx, call, checks = std::move(checks)](io::StateResult r) {
            if (!r.ok()) return store_failed(*cx, call, r, false);
            for (const auto& ch : checks) {
                const std::int64_t n = r.replies[ch.op].number;
                std::string found = ch.what + " " + std::to_string(n) + "/" + std::to_string(ch.limit);
                cx->notes()[std::string(kNote)] = found;
                if (n > static_cast<std::int64_t>(ch.limit)) {
                    cx->notes()[std::string(kNote)] = found + ": fail";
                    cx->log().info("limit: {} ({})", found, ch.key);
                    const char* text = ch.what == "rate_rcpt_host"     ? "recipient rate limit exceeded"
                                       : ch.what == "rate_rcpt_sender" ? "rcpt rate limit exceeded"
                                       : ch.what == "rate_rcpt_null"   ? "null recip rate limit"
                                                                       : "rate limit exceeded";
                    return penalize(*cx, call, false, text);
                }
                cx->log().debug("limit: {} ({})", found, ch.key);
            }
            call.declined();
        });
    }

    // ---- answers ------------------------------------------------------------------------
    // 421 4.7.0 and close, or 451 4.7.1; after tarpit_delay when one is set (Haraka's penalize).
    void penalize(hooks::Context& ctx, const hooks::HookCall& call, bool disconnect, const char* text) const {
        auto v = disconnect ? hooks::Verdict::deny_soft_disconnect(text) : hooks::Verdict::deny_soft(text);
        v.reply = disconnect ? proto::Reply::make(421, "4.7.0", text) : proto::Reply::make(451, "4.7.1", text);
        if (!cfg_.tarpit_delay_ms) return call.resolve(std::move(v));
        ctx.log().info("limit: tarpitting for {} ms", cfg_.tarpit_delay_ms);
        ctx.after(cfg_.tarpit_delay_ms, [call, v = std::move(v)] { call.resolve(v); });
    }

    void store_failed(hooks::Context& ctx, const hooks::HookCall& call, const io::StateResult& r, bool at_connect) const {
        ctx.notes()[std::string(kNote)] = "store failed";
        ctx.log().warn("limit: state store {}: {}; {}", io::state_status_name(r.status), r.error,
                       cfg_.fail_defer ? "deferring (on_error defer)" : "accepting (on_error accept)");
        if (!cfg_.fail_defer) return call.declined();
        constexpr const char* text = "Limits are not available; try again later";
        auto v = at_connect ? hooks::Verdict::deny_soft_disconnect(text) : hooks::Verdict::deny_soft(text);
        v.reply = proto::Reply::make(at_connect ? 421 : 451, "4.3.0", text);
        call.resolve(std::move(v));
    }

    proto::LimitConfig cfg_;
};

}  // namespace

std::unique_ptr<hooks::Plugin> make_limit() { return std::make_unique<Limit>(); }

}  // namespace asmtpd::plugins

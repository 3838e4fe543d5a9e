// NAME
//   greylisting - defer the first delivery attempt of an unknown (client, sender, recipient)
//   triplet (RFC 6647; qpsmtpd's greylisting, same arguments and record format).
// SYNOPSIS
//   greylisting [black_timeout SECONDS] [grey_timeout SECONDS] [white_timeout SECONDS]
//               [remote_ip 0|1] [sender 0|1] [recipient 0|1] [deny_late 0|1] [reject 0|1]
//               [mode denysoft|testonly|off] [timeout SECONDS] [on_error accept|defer]
//               [p0f ...] [db_dir DIR]
//   defaults (qpsmtpd's): black_timeout 3000 (50 min), grey_timeout 12000 (3 h 20 min),
//   white_timeout 3110400 (36 days), remote_ip 1, sender 0, recipient 0, deny_late 0,
//   reject 1; timeout: asmtpd.yaml state.timeout; on_error accept.
//   `reject 0` (or `mode testonly`) is a dry run: the deferral is logged, never sent. `p0f` is
//   accepted and ignored (no p0f here); `db_dir` is accepted and ignored (the records live in
//   the state store, asmtpd.yaml `state:`), with a note in the log at the first use.
// CONFIG
//   greylist_exclude  clients and senders never greylisted, one a line: an address, a network
//                     ("192.0.2.0/24", "2001:db8::/32", qmail prefix "10.1."), or a domain
//                     ("example.com": the sender's domain or the client's forward-confirmed name,
//                     that domain or any name under it). A malformed line fails start-up.
// HOOKS
//   rcpt_pre: starts the triplet's read (below), so that it shares a round trip with the rcpt
//         batches of the plugins listed before greylisting (limit's counters).
//   rcpt: the triplet (client network: IPv4 /24, IPv6 /64; sender and recipient when enabled)
//         is looked up in the state store (one round trip) and decided as in
//         core/proto/greylist.hpp; a too-early triplet gets 450 4.7.1 "This mail is temporarily
//         denied" (with deny_late 1 the rcpt is accepted and the deferral is given at data).
//         The new record is written without waiting (a white record at most once per 1% of
//         white_timeout, so a known triplet costs one read).
//   data: the deferral noted by deny_late.
// NOTES
//   transaction "greylisting": the last decision ("new", "black", "grey", "white", "excluded",
//   "store failed").
// FAIL MODES
//   The store does not answer (unavailable, past the deadline): on_error accept (default) logs
//   a warning and lets the recipient through; on_error defer answers 451 4.3.0 (as spamassassin).
// Immune sessions (relay clients, authenticated, whitelisted host or sender: plugins/common/
// immunity.hpp) are never greylisted.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/io/state_store.hpp"
#include "core/proto/address.hpp"
#include "core/proto/greylist.hpp"
#include "core/proto/ip_list.hpp"
#include "core/proto/plugin_args.hpp"
#include "core/proto/reply.hpp"
#include "core/proto/text.hpp"
#include "hooks/plugin.hpp"
#include "plugins/common/immunity.hpp"

namespace asmtpd::plugins {

namespace {

constexpr std::string_view kNote = "greylisting";
constexpr std::string_view kDeferNote = "greylisting.defer";      // deny_late: refuse at data
constexpr std::string_view kTripletNote = "greylisting.triplet";  // recipient 0: one lookup per txn
constexpr std::string_view kText = "This mail is temporarily denied";

std::uint64_t unix_now() {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

std::optional<bool> flag(const proto::ArgPairs& a, std::string_view key, bool dflt, std::string& error) {
    auto v = a.get(key);
    if (!v) return dflt;
    if (*v == "0" || *v == "1") return *v == "1";
    error = std::string(key) + ": expected 0 or 1, got '" + *v + "'";
    return std::nullopt;
}

bool is_domain_entry(const std::string& e) {
    if (e.find(':') != std::string::npos || e.find('/') != std::string::npos) return false;
    for (char ch : e)
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')) return true;
    return false;
}

bool under(const std::string& name, const std::string& domain) {
    if (name.empty()) return false;
    return name == domain || (name.size() > domain.size() && name.ends_with(domain) &&
                              name[name.size() - domain.size() - 1] == '.');
}

class Greylisting final : public hooks::Plugin {
public:
    std::optional<std::string> init(const hooks::PluginInit& in) override {
        proto::ArgPairs a;
        if (auto e = a.parse(in.line.args, {"black_timeout", "grey_timeout", "white_timeout", "remote_ip", "sender",
                                            "recipient", "deny_late", "reject", "mode", "timeout", "on_error", "p0f",
                                            "db_dir", "per_recipient", "loglevel"}))
            return e;
        for (auto [key, out] : {std::pair{"black_timeout", &times_.black}, std::pair{"grey_timeout", &times_.grey},
                                std::pair{"white_timeout", &times_.white}}) {
            if (auto v = a.get(key)) {
                auto n = proto::parse_count(*v);
                if (!n || *n == 0 || *n > 10ull * 365 * 86400)
                    return std::string(key) + ": expected seconds (1 to 10 years), got '" + *v + "'";
                *out = *n;
            }
        }
        if (times_.grey <= times_.black)
            return "grey_timeout (" + std::to_string(times_.grey) + ") must be longer than black_timeout (" +
                   std::to_string(times_.black) + ")";
        std::string error;
        auto ip = flag(a, "remote_ip", true, error), snd = flag(a, "sender", false, error),
             rcpt = flag(a, "recipient", false, error), late = flag(a, "deny_late", false, error),
             rej = flag(a, "reject", true, error), per_rcpt = flag(a, "per_recipient", false, error);
        if (!error.empty()) return error;
        use_ip_ = *ip;
        use_sender_ = *snd;
        use_rcpt_ = *rcpt;
        deny_late_ = *late;
        reject_ = *rej;
        (void)per_rcpt;   // qpsmtpd's per-recipient config files: not supported, accepted
        if (auto m = a.get("mode")) {
            if (*m == "testonly") reject_ = false;
            else if (*m == "off") off_ = true;
            else if (*m != "denysoft") return "mode: expected denysoft, testonly or off, got '" + *m + "'";
        }
        if (auto t = a.get("timeout")) {
            auto ms = proto::parse_seconds_ms(*t);
            if (!ms || *ms == 0) return "timeout: expected seconds, got '" + *t + "'";
            timeout_ms_ = *ms;
        }
        if (auto f = a.get("on_error")) {
            if (*f != "accept" && *f != "defer") return "on_error: expected accept or defer, got '" + *f + "'";
            fail_defer_ = *f == "defer";
        }
        db_dir_ = a.has("db_dir");
        std::vector<std::string> ips;
        for (const auto& line : in.config.lines("greylist_exclude")) {
            if (is_domain_entry(line)) {
                std::string d = proto::to_lower(line);
                while (!d.empty() && d.front() == '.') d.erase(0, 1);
                exclude_domains_.push_back(d);
            } else {
                ips.push_back(line);
            }
        }
        std::vector<std::string> bad;
        exclude_ips_ = proto::IpList::parse(ips, &bad);
        if (!bad.empty()) return "greylist_exclude: not an address, network, prefix or domain: '" + bad.front() + "'";
        return std::nullopt;
    }

    void register_hooks(hooks::Registrar& r) override {
        r.on<hooks::Hook::RcptPre>(&Greylisting::on_rcpt_pre);
        r.on<hooks::Hook::Rcpt>(&Greylisting::on_rcpt);
        r.on<hooks::Hook::Data>(&Greylisting::on_data);
    }

private:
    // Why this recipient is not greylisted, or empty.
    std::string excluded(hooks::Context& ctx) const {
        if (off_) return "mode off";
        if (auto why = immunity(ctx); !why.empty()) return std::string(why);
        const auto& c = ctx.connection();
        if (exclude_ips_.matches(c.remote_ip)) return "client in greylist_exclude";
        const auto* t = ctx.transaction();
        std::string sender = t && t->sender ? t->sender->domain_lower() : std::string();
        std::string host = proto::to_lower(c.remote_host);
        for (const auto& d : exclude_domains_) {
            if (under(sender, d)) return "sender domain in greylist_exclude";
            if (under(host, d)) return "client name in greylist_exclude";
        }
        return {};
    }

    std::string triplet(hooks::Context& ctx, const proto::Address& rcpt) const {
        std::string key = "greylist:";
        if (use_ip_) key += proto::greylist_network(ctx.connection().remote_ip);
        key += '|';
        const auto* t = ctx.transaction();
        if (use_sender_ && t && t->sender) key += proto::to_lower(t->sender->bare());
        key += '|';
        if (use_rcpt_) key += proto::to_lower(rcpt.bare());
        return key;
    }

    // The triplet's read starts here so that it shares a round trip with the rcpt batches of the
    // plugins before greylisting (limit's counters); rcpt takes its answer. A recipient that a
    // rcpt_pre plugin rewrites, or that turns out excluded, leaves it unclaimed (a wasted read).
    void on_rcpt_pre(hooks::Context& ctx, const hooks::PathArgs& args, hooks::HookCall call) {
        if (excluded(ctx).empty())
            if (auto addr = proto::parse_path(args.path, proto::recipient_rules(true))) {
                std::string key = triplet(ctx, *addr);
                bool known = false;   // recipient 0: the transaction's answer is noted already
                if (auto* t = ctx.transaction(); t && !use_rcpt_) {
                    auto it = t->notes.find(kTripletNote);
                    known = it != t->notes.end() && it->second == key;
                }
                if (!known) ctx.state().prefetch(prefetch_tag(key), {io::StateOp::get(key)}, timeout_ms_);
            }
        call.declined();
    }

    static std::string prefetch_tag(const std::string& key) { return "greylisting " + key; }

    void on_rcpt(hooks::Context& ctx, const hooks::AddressArgs& args, hooks::HookCall call) {
        auto* t = ctx.transaction();
        if (auto why = excluded(ctx); !why.empty()) {
            if (t) t->notes[std::string(kNote)] = "excluded";
            ctx.log().debug("greylisting: skip, {}", why);
            return call.declined();
        }
        if (db_dir_ && !db_dir_noted_) {
            db_dir_noted_ = true;
            ctx.log().notice("greylisting: db_dir is ignored: records live in the state store ({})",
                             ctx.state().store().backend());
        }
        std::string key = triplet(ctx, args.address);
        // Without the recipient in the triplet, every recipient of the transaction has one answer.
        if (t && !use_rcpt_) {
            if (auto it = t->notes.find(kTripletNote); it != t->notes.end() && it->second == key) {
                auto d = t->notes.find(kNote);
                if (d != t->notes.end() && (d->second == "new" || d->second == "black")) return defer(ctx, call);
                return call.declined();
            }
        }
        auto* c = &ctx;   // the scope drops the callback if the session ends first
        auto then = [this, c, call, key](io::StateResult r) { decide(*c, call, key, std::move(r)); };
        if (ctx.state().claim(prefetch_tag(key), then)) return;
        ctx.state().run({io::StateOp::get(key)}, timeout_ms_, std::move(then));
    }

    void decide(hooks::Context& ctx, const hooks::HookCall& call, const std::string& key, io::StateResult r) {
        auto* t = ctx.transaction();
        if (!r.ok()) {
            if (t) t->notes[std::string(kNote)] = "store failed";
            ctx.log().warn("greylisting: state store {}: {}; {}", io::state_status_name(r.status), r.error,
                           fail_defer_ ? "deferring (on_error defer)" : "accepting (on_error accept)");
            if (!fail_defer_) return call.declined();
            auto v = hooks::Verdict::deny_soft("Greylisting is not available; try again later");
            v.reply = proto::Reply::make(451, "4.3.0", "Greylisting is not available; try again later");
            return call.resolve(std::move(v));
        }
        std::optional<proto::GreylistRecord> current;
        if (r.replies[0].found) {
            current = proto::parse_greylist_record(r.replies[0].value);
            if (!current) ctx.log().warn("greylisting: {}: unreadable record '{}', starting over", key, r.replies[0].value);
        }
        const std::uint64_t now = unix_now();
        auto d = proto::greylist_decide(current, now, times_);
        // A white triplet seen again soon needs no write: one read is its whole cost.
        const bool fresh_white = current && current->white && std::string_view(d.state) == "white" &&
                                 now - current->ts < times_.white / 100;
        if (!fresh_white)
            ctx.state().run({io::StateOp::set(key, proto::format_greylist_record(d.next), d.ttl * 1000)}, 0, {});
        if (t) {
            t->notes[std::string(kNote)] = d.state;
            t->notes[std::string(kTripletNote)] = key;
        }
        if (d.pass) {
            ctx.log().info("greylisting: {}: {}, pass", key, d.state);
            return call.declined();
        }
        ctx.log().info("greylisting: {}: {}, {}", key, d.state,
                       !reject_ ? "would defer (reject 0)" : deny_late_ ? "deferring at data (deny_late)" : "deferring");
        defer(ctx, call);
    }

    void defer(hooks::Context& ctx, const hooks::HookCall& call) const {
        if (!reject_) return call.declined();
        if (deny_late_) {
            if (auto* t = ctx.transaction()) t->notes[std::string(kDeferNote)] = "1";
            return call.declined();
        }
        call.resolve(verdict());
    }

    void on_data(hooks::Context& ctx, const hooks::NoArgs&, hooks::HookCall call) {
        auto* t = ctx.transaction();
        if (!t || !t->notes.count(kDeferNote)) return call.declined();
        ctx.log().info("greylisting: deferring at data (deny_late)");
        call.resolve(verdict());
    }

    static hooks::Verdict verdict() {
        auto v = hooks::Verdict::deny_soft(std::string(kText));
        v.reply = proto::Reply::make(450, "4.7.1", kText);
        return v;
    }

    proto::GreylistTimeouts times_;
    bool use_ip_ = true, use_sender_ = false, use_rcpt_ = false;
    bool deny_late_ = false, reject_ = true, off_ = false, fail_defer_ = false;
    bool db_dir_ = false, db_dir_noted_ = false;
    std::uint64_t timeout_ms_ = 0;   // 0: the store's timeout
    proto::IpList exclude_ips_;
    std::vector<std::string> exclude_domains_;
};

}  // namespace

std::unique_ptr<hooks::Plugin> make_greylisting() { return std::make_unique<Greylisting>(); }

}  // namespace asmtpd::plugins

// NAME
//   karma - remember which IPs send good and bad sessions; refuse the bad ones for a while
//   (qpsmtpd's karma on the state store).
// SYNOPSIS
//   karma [negative N] [strikes N] [penalty_days DAYS] [reject 0|1|connect|naughty]
//         [reject_type perm|temp|disconnect|temp_disconnect] [history_days DAYS]
//         [exclude PLUGIN[,PLUGIN...]] [timeout SECONDS] [db_dir DIR] [nfslock 0|1] [loglevel N]
//   defaults: negative 1, strikes 1 (qpsmtpd: 3), penalty_days 1, reject naughty, reject_type
//   disconnect, history_days 60, exclude greylisting, timeout: asmtpd.yaml state.timeout.
//   `connect` is `1` (the refusal is given at connect, the only hook karma refuses at);
//   `zombie` (qpsmtpd's older word) is `naughty`. db_dir, nfslock, loglevel: accepted, ignored.
// HOOKS
//   pre_connection: starts the read of the IP's record and penalty (it shares a round trip with
//            the batches other plugins start there, e.g. limit's).
//   connect: takes that read (one store round trip); notes the history; an IP in
//            the penalty box gets "You were naughty. You cannot connect for D more days." as
//            `reject` says (naughty: the naughty plugin refuses it at its hook).
//   deny:    another plugin refused something: karma_score -1 (karma's own refusals, naughty's
//            (already counted when the reason was noted), the `exclude`d plugins', refusals at
//            queue and plugin timeouts (the server's failures) are not).
//   ok:      a message queued (ok at queue) or a successful AUTH: karma_score +1.
//   disconnect: the session's outcome (core/proto/karma.hpp) is written, one round trip that is
//            not waited for: the record, and the penalty when the session sent the IP to the box.
// NOTES (connection)
//   karma_score    the session's karma (plugins/common/karma_note.hpp), from 0 (+1 for a history
//                  over 10); plugins using `reject naughty` lower it when they note a reason
//   karma_history  nice - naughty sessions of the IP before this one
//   karma_record   "N naughty, N nice, N connects, last seen UNIXTIME" or "none"
//   karma_penalty  days left when the IP is in the penalty box
// FAIL MODES
//   The store does not answer at connect (unavailable, past the deadline): logged, the session
//   goes on as an unknown IP and is not recorded (its disconnect writes nothing). A write that
//   fails at disconnect is lost (the store logs it); nobody waits for it.
// Immune sessions (relay clients, authenticated, whitelisted: plugins/common/immunity.hpp) are
// never refused nor counted naughty.
#include <chrono>
#include <cmath>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/io/state_store.hpp"
#include "core/proto/cidr.hpp"
#include "core/proto/karma.hpp"
#include "core/proto/plugin_args.hpp"
#include "hooks/plugin.hpp"
#include "plugins/common/immunity.hpp"
#include "plugins/common/karma_note.hpp"
#include "plugins/common/reject_policy.hpp"

namespace asmtpd::plugins {

namespace {

constexpr std::string_view kHistoryNote = "karma_history";
constexpr std::string_view kRecordNote = "karma_record";
constexpr std::string_view kPenaltyNote = "karma_penalty";
constexpr std::string_view kLoadedNote = "karma.loaded";   // the record read at connect ("" = none)

std::uint64_t unix_now() {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

// "1", "0.5": days (digits, at most one '.') as seconds, at most ten years.
std::optional<std::uint64_t> parse_days(std::string_view text) {
    if (text.empty() || text.size() > 12 || text.front() == '.' || text.back() == '.') return std::nullopt;
    double whole = 0, scale = 0;
    for (char ch : text) {
        if (ch == '.' && scale == 0) {
            scale = 1;
        } else if (ch >= '0' && ch <= '9') {
            if (scale == 0) whole = whole * 10 + (ch - '0');
            else whole += (ch - '0') * (scale /= 10);
        } else {
            return std::nullopt;
        }
    }
    if (whole > 3650) return std::nullopt;
    return static_cast<std::uint64_t>(std::llround(whole * 86400));
}

std::string base_name(std::string_view plugin) { return std::string(plugin.substr(0, plugin.find(':'))); }

class Karma final : public hooks::Plugin {
public:
    std::optional<std::string> init(const hooks::PluginInit& in) override {
        proto::ArgPairs a;
        if (auto e = a.parse(in.line.args, {"negative", "strikes", "penalty_days", "reject", "reject_type",
                                            "history_days", "exclude", "timeout", "db_dir", "nfslock", "loglevel"}))
            return e;
        for (auto [key, out] : {std::pair{"negative", &settings_.negative}, std::pair{"strikes", &settings_.strikes}}) {
            if (auto v = a.get(key)) {
                auto n = proto::parse_count(*v);
                if (!n || *n == 0 || *n > 1000000) return std::string(key) + ": expected a count from 1, got '" + *v + "'";
                *out = static_cast<std::int64_t>(*n);
            }
        }
        if (auto v = a.get("penalty_days")) {
            auto s = parse_days(*v);
            if (!s || *s == 0) return "penalty_days: expected days (0.01 to 3650), got '" + *v + "'";
            settings_.penalty_seconds = *s;
        }
        if (auto v = a.get("history_days")) {
            auto s = parse_days(*v);
            if (!s || *s == 0) return "history_days: expected days (0.01 to 3650), got '" + *v + "'";
            history_seconds_ = *s;
        }
        // qpsmtpd's words: connect = 1 (karma refuses at connect only), zombie = naughty.
        proto::ArgPairs policy_args;
        std::vector<std::string> words;
        if (auto r = a.get("reject")) {
            words = {"reject", *r == "connect" ? "1" : *r == "zombie" ? "naughty" : *r};
            if (*r != "0" && *r != "1" && *r != "connect" && *r != "naughty" && *r != "zombie")
                return "reject must be 0, 1, connect or naughty, not '" + *r + "'";
        }
        if (auto t = a.get("reject_type")) words.insert(words.end(), {"reject_type", *t});
        policy_.mode = RejectPolicy::Mode::naughty;   // qpsmtpd's defaults
        policy_.type = hooks::Result::DenyDisconnect;
        if (auto e = policy_args.parse(words, {"reject", "reject_type"})) return e;
        if (auto e = policy_.read(policy_args)) return e;
        if (auto t = a.get("timeout")) {
            auto ms = proto::parse_seconds_ms(*t);
            if (!ms || *ms == 0) return "timeout: expected seconds, got '" + *t + "'";
            timeout_ms_ = *ms;
        }
        excluded_ = {"greylisting"};
        if (auto x = a.get("exclude")) {
            excluded_.clear();
            std::string item;
            for (char ch : *x + ",") {
                if (ch != ',') {
                    item += ch;
                } else if (!item.empty()) {
                    excluded_.insert(item);
                    item.clear();
                }
            }
        }
        return std::nullopt;
    }

    void register_hooks(hooks::Registrar& r) override {
        r.on<hooks::Hook::PreConnection>(&Karma::on_pre_connection);
        r.on<hooks::Hook::Connect>(&Karma::on_connect);
        r.on<hooks::Hook::Deny>(&Karma::on_deny);
        r.on<hooks::Hook::Ok>(&Karma::on_ok);
        r.on<hooks::Hook::Disconnect>(&Karma::on_disconnect);
    }

private:
    static std::string key_of(hooks::Context& ctx) {
        auto ip = proto::parse_ip(ctx.connection().remote_ip);
        return ip ? "karma:" + ip->to_string() : std::string();
    }

    static constexpr std::string_view kPrefetch = "karma";

    // The read starts here, so that it shares a round trip with the batches other plugins (limit)
    // start before connect; connect takes its answer.
    void on_pre_connection(hooks::Context& ctx, const hooks::NoArgs&, hooks::HookCall call) {
        if (std::string key = key_of(ctx); !key.empty())
            ctx.state().prefetch(std::string(kPrefetch), {io::StateOp::get(key), io::StateOp::get(key + ":penalty")},
                                 timeout_ms_);
        call.declined();
    }

    void on_connect(hooks::Context& ctx, const hooks::NoArgs&, hooks::HookCall call) {
        ctx.notes().try_emplace(std::string(kKarmaScoreNote), "0");
        std::string key = key_of(ctx);
        if (key.empty()) {
            ctx.log().info("karma: skip, no client address");
            return call.declined();
        }
        auto* c = &ctx;   // the scope drops the callback if the session ends first
        auto then = [this, c, call, key](io::StateResult r) { decide(*c, call, key, std::move(r)); };
        if (ctx.state().claim(kPrefetch, then)) return;
        ctx.state().run({io::StateOp::get(key), io::StateOp::get(key + ":penalty")}, timeout_ms_, std::move(then));
    }

    void decide(hooks::Context& ctx, const hooks::HookCall& call, const std::string& key, io::StateResult r) {
        if (!r.ok()) {
            ctx.log().warn("karma: state store {}: {}; accepting, the session is not recorded",
                           io::state_status_name(r.status), r.error);
            return call.declined();
        }
        auto& notes = ctx.notes();
        std::optional<proto::KarmaRecord> rec;
        if (r.replies[0].found) {
            rec = proto::parse_karma_record(r.replies[0].value);
            if (!rec) ctx.log().warn("karma: {}: unreadable record '{}', starting over", key, r.replies[0].value);
        }
        notes[std::string(kLoadedNote)] = rec ? proto::format_karma_record(*rec) : std::string();
        notes[std::string(kHistoryNote)] = std::to_string(rec ? rec->history() : 0);
        std::string summary = rec ? std::to_string(rec->naughty) + " naughty, " + std::to_string(rec->nice) + " nice, " +
                                        std::to_string(rec->connects) + " connects"
                                  : std::string();
        notes[std::string(kRecordNote)] =
            rec ? summary + ", last seen " + std::to_string(rec->last_seen) : std::string("none");
        if (auto bonus = proto::karma_start_score(rec)) adjust_karma(ctx, bonus);

        const std::uint64_t now = unix_now();
        std::optional<std::uint64_t> until;
        if (r.replies[1].found) until = proto::parse_karma_penalty(r.replies[1].value);
        if (!until || *until <= now) {
            if (!rec) ctx.log().info("karma: pass, no record");
            else ctx.log().info("karma: pass, no penalty ({})", summary);
            return call.declined();
        }
        const std::string left = proto::karma_days_left(*until, now);
        notes[std::string(kPenaltyNote)] = left;
        if (auto why = immunity(ctx); !why.empty()) {
            ctx.log().info("karma: pass, {} (in the penalty box, {} days left)", why, left);
            return call.declined();
        }
        const std::string text = "You were naughty. You cannot connect for " + left + " more days.";
        const std::string log = "in the penalty box (" + (rec ? summary : std::string("no record")) + ")";
        if (policy_.mode == RejectPolicy::Mode::naughty) {
            // Noted for the naughty plugin, but not counted against the session: being in the
            // box is the IP's past, not this session's doing.
            ctx.log().info("karma: fail, NAUGHTY, {}", log);
            mark_naughty(ctx, name(), text, policy_.type);
            return call.declined();
        }
        call.resolve(policy_.apply(ctx, name(), text, log));
    }

    void on_deny(hooks::Context& ctx, const hooks::OutcomeArgs& a, hooks::HookCall call) {
        call.declined();   // a notification: nobody waits
        const std::string base = base_name(a.plugin);
        if (a.plugin == name() || base == "karma" || base == "naughty" || excluded_.count(base) ||
            excluded_.count(a.plugin))
            return;
        // The server's own failures are not the client's doing: a queue backend that refused
        // (451 at queue) and a plugin past its deadline (the chain's "plugin timeout").
        if (a.subject == hooks::Hook::Queue || a.verdict.text == "plugin timeout") return;
        auto score = adjust_karma(ctx, -1);
        ctx.log().debug("karma: -1 for {}'s {} at {} ({})", a.plugin, hooks::to_string(a.verdict.result),
                        hooks::hook_name(a.subject), score);
    }

    void on_ok(hooks::Context& ctx, const hooks::OutcomeArgs& a, hooks::HookCall call) {
        call.declined();
        using H = hooks::Hook;
        const bool good = a.subject == H::Queue || a.subject == H::Auth || a.subject == H::AuthPlain ||
                          a.subject == H::AuthLogin || a.subject == H::AuthCramMd5;
        if (!good || a.verdict.result != hooks::Result::Ok) return;
        auto score = adjust_karma(ctx, 1);
        ctx.log().debug("karma: +1 for {} at {} ({})", a.plugin, hooks::hook_name(a.subject), score);
    }

    void on_disconnect(hooks::Context& ctx, const hooks::NoArgs&, hooks::HookCall call) {
        call.declined();
        auto& notes = ctx.notes();
        auto loaded = notes.find(kLoadedNote);
        if (loaded == notes.end()) return;   // not looked up (no address, store failed): not recorded
        std::optional<proto::KarmaRecord> rec;
        if (!loaded->second.empty()) rec = proto::parse_karma_record(loaded->second);
        const std::int64_t score = karma_score(notes);
        const std::uint64_t now = unix_now();
        const bool immune = is_immune(ctx);
        auto u = proto::karma_after_session(rec, score, immune, now, settings_);
        const std::string key = key_of(ctx);
        std::vector<io::StateOp> ops{io::StateOp::set(
            key, proto::format_karma_record(u.next),
            1000 * std::max(history_seconds_, u.penalty_until ? u.penalty_until - now : 0))};
        std::string what = proto::karma_outcome_name(u.outcome);
        if (immune && score <= -settings_.strikes) what += " (immune)";
        if (u.penalty_until) {
            ops.push_back(io::StateOp::set(key + ":penalty", std::to_string(u.penalty_until),
                                           1000 * (u.penalty_until - now)));
            what += ", sent to penalty box for " + proto::karma_days_left(u.penalty_until, now) + " days";
            if (u.bonus) what += ", penalty box bonus!";
        }
        ctx.log().info("karma: {} (msg: {}, his: {})", what, score, u.history);
        // The session is ending: nobody waits for the write (a failure is the store's to log).
        ctx.state().run(std::move(ops), 0, {});
    }

    proto::KarmaSettings settings_;
    std::uint64_t history_seconds_ = 60ull * 86400;
    RejectPolicy policy_;
    std::uint64_t timeout_ms_ = 0;   // 0: the store's timeout
    std::set<std::string, std::less<>> excluded_;
};

}  // namespace

std::unique_ptr<hooks::Plugin> make_karma() { return std::make_unique<Karma>(); }

}  // namespace asmtpd::plugins

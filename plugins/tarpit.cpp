// NAME
//   tarpit - delay the replies to a client (Haraka's tarpit, qpsmtpd's karma tarpit): by a
//   configured time, by another plugin's `tarpit` note, or by the client's karma.
// SYNOPSIS
//   tarpit [delay SECONDS] [delay_HOOK SECONDS ...] [hooks_to_delay HOOK,HOOK,...]
//          [karma 0|1] [karma_delay SECONDS] [max_delay SECONDS]
//   defaults: delay 0, hooks_to_delay connect,helo,ehlo,mail,rcpt,data,data_post,queue,
//   unrecognized_command,vrfy,noop,help,quit (Haraka's list, less rset and rcpt_ok), karma 1,
//   karma_delay 1, max_delay 60. SECONDS may have a fraction ("0.5").
// HOOKS
//   Each hook of hooks_to_delay: the plugin answers DECLINED after the delay, so the rest of
//   the chain (and the reply) waits: list tarpit before the plugins that answer the hook.
//   The delay is, first match wins:
//     1. the transaction note, then the connection note `tarpit` (seconds; Haraka's interface
//        for other plugins, e.g. limit or karma);
//     2. with karma 1, the connection note `karma_score` (an integer, written by the karma
//        plugin): below 0, karma_delay seconds per point; above 0, no delay; 0, as 3;
//     3. delay_HOOK, else delay.
//   capped at max_delay. One loop timer per delayed reply (Context::after): no thread, and
//   nothing per byte. The plugin's timeout is raised above max_delay when needed.
// FAIL MODES
//   none: a note that is not a number is ignored (logged at debug).
#include <algorithm>
#include <array>
#include <map>
#include <memory>
#include <string>

#include "core/proto/plugin_args.hpp"
#include "hooks/plugin.hpp"

namespace asmtpd::plugins {

namespace {

using hooks::Hook;

constexpr std::array kDelayable{Hook::Connect, Hook::Helo, Hook::Ehlo, Hook::Mail, Hook::Rcpt, Hook::Data,
                                Hook::DataPost, Hook::Queue, Hook::UnrecognizedCommand, Hook::Vrfy, Hook::Noop,
                                Hook::Help, Hook::Quit, Hook::MailPre, Hook::RcptPre, Hook::RcptPost,
                                Hook::DataHeadersEnd, Hook::DataPostHeaders, Hook::QueuePre, Hook::Auth,
                                Hook::AuthPlain, Hook::AuthLogin, Hook::AuthCramMd5, Hook::AuthPost};
constexpr std::array kDefaultHooks{Hook::Connect, Hook::Helo, Hook::Ehlo, Hook::Mail, Hook::Rcpt, Hook::Data,
                                   Hook::DataPost, Hook::Queue, Hook::UnrecognizedCommand, Hook::Vrfy,
                                   Hook::Noop, Hook::Help, Hook::Quit};

bool delayable(Hook h) { return std::find(kDelayable.begin(), kDelayable.end(), h) != kDelayable.end(); }

// An integer note ("-3", "+2", "5"), or nullopt.
std::optional<std::int64_t> int_note(const hooks::Notes& notes, std::string_view key) {
    auto it = notes.find(key);
    if (it == notes.end() || it->second.empty()) return std::nullopt;
    std::string_view s = it->second;
    const bool neg = s[0] == '-';
    if (neg || s[0] == '+') s.remove_prefix(1);
    auto n = proto::parse_count(s);
    if (!n || *n > 1000000000) return std::nullopt;
    return neg ? -static_cast<std::int64_t>(*n) : static_cast<std::int64_t>(*n);
}

class Tarpit final : public hooks::Plugin {
public:
    std::optional<std::string> init(const hooks::PluginInit& in) override {
        const auto& args = in.line.args;
        if (args.size() % 2) return "expected KEY VALUE pairs, '" + args.back() + "' has no value";
        for (std::size_t i = 0; i < args.size(); i += 2) {
            const std::string& k = args[i];
            const std::string& v = args[i + 1];
            if (k == "hooks_to_delay") {
                hooks_.clear();
                std::string_view rest = v;
                while (!rest.empty()) {
                    auto comma = rest.find(',');
                    std::string_view name = rest.substr(0, comma);
                    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
                    auto h = hooks::hook_from_name(name);
                    if (!h || !delayable(*h))
                        return "hooks_to_delay: '" + std::string(name) + "' is not a hook whose reply can wait";
                    if (std::find(hooks_.begin(), hooks_.end(), *h) == hooks_.end()) hooks_.push_back(*h);
                }
                if (hooks_.empty()) return "hooks_to_delay: no hooks";
            } else if (k == "karma") {
                if (v != "0" && v != "1") return "karma: expected 0 or 1, got '" + v + "'";
                karma_ = v == "1";
            } else if (k == "delay" || k == "karma_delay" || k == "max_delay" || k.starts_with("delay_")) {
                auto ms = proto::parse_seconds_ms(v);
                if (!ms) return k + ": expected seconds, got '" + v + "'";
                if (k == "delay") delay_ms_ = *ms;
                else if (k == "karma_delay") karma_delay_ms_ = *ms;
                else if (k == "max_delay") max_delay_ms_ = *ms;
                else {
                    auto h = hooks::hook_from_name(std::string_view(k).substr(6));
                    if (!h || !delayable(*h)) return k + ": '" + k.substr(6) + "' is not a hook whose reply can wait";
                    per_hook_[*h] = *ms;
                }
            } else {
                return "unknown argument '" + k + "' (known: delay, delay_HOOK, hooks_to_delay, karma, karma_delay, max_delay)";
            }
        }
        for (const auto& [h, ms] : per_hook_)
            if (std::find(hooks_.begin(), hooks_.end(), h) == hooks_.end()) hooks_.push_back(h);
        const auto need = std::chrono::milliseconds(max_delay_ms_ + 1000);
        set_timeout(std::max(in.server.plugin_timeout, need));
        return std::nullopt;
    }

    void register_hooks(hooks::Registrar& r) override {
        for (Hook h : hooks_)
            r.on_any(h, [this, h](hooks::Context& ctx, const hooks::HookArgs&, hooks::HookCall call) {
                on_hook(ctx, h, std::move(call));
            });
    }

private:
    std::uint64_t delay_for(hooks::Context& ctx, Hook h, std::string& why) const {
        const auto* t = ctx.transaction();
        std::optional<std::int64_t> note = t ? int_note(t->notes, "tarpit") : std::nullopt;
        if (!note) note = int_note(ctx.notes(), "tarpit");
        if (note && *note >= 0) {
            why = "tarpit note";
            return static_cast<std::uint64_t>(*note) * 1000;
        }
        if (karma_)
            if (auto k = int_note(ctx.notes(), "karma_score"); k && *k != 0) {
                why = "karma " + std::to_string(*k);
                return *k < 0 ? static_cast<std::uint64_t>(-*k) * karma_delay_ms_ : 0;
            }
        why = "configured";
        auto it = per_hook_.find(h);
        return it != per_hook_.end() ? it->second : delay_ms_;
    }

    void on_hook(hooks::Context& ctx, Hook h, hooks::HookCall call) const {
        std::string why;
        const std::uint64_t ms = std::min(delay_for(ctx, h, why), max_delay_ms_);
        if (ms == 0) return call.declined();
        ctx.log().info("tarpit: delaying the {} reply by {} ms ({})", hooks::hook_name(h), ms, why);
        ctx.after(ms, [call] { call.declined(); });
    }

    std::vector<Hook> hooks_{kDefaultHooks.begin(), kDefaultHooks.end()};
    std::map<Hook, std::uint64_t> per_hook_;
    std::uint64_t delay_ms_ = 0, karma_delay_ms_ = 1000, max_delay_ms_ = 60000;
    bool karma_ = true;
};

}  // namespace

std::unique_ptr<hooks::Plugin> make_tarpit() { return std::make_unique<Tarpit>(); }

}  // namespace asmtpd::plugins

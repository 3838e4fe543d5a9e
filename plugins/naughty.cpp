// NAME
//   naughty - refuse, at one chosen hook, the sessions other plugins marked naughty
//   (qpsmtpd's naughty).
// SYNOPSIS
//   naughty [reject connect|mail|rcpt|data|data_post] [reject_type perm|temp|disconnect|temp_disconnect]
//           [loglevel N]
//   defaults (qpsmtpd's): reject rcpt, reject_type disconnect. loglevel: accepted, ignored.
//   A plugin with `reject naughty` (dnsbl, rhsbl, fcrdns, helo, resolvable_fromhost, headers,
//   dkim, dmarc, karma: plugins/common/reject_policy.hpp) does not refuse at once: it appends
//   "(plugin) reply" to the connection note `naughty` and goes on.
// HOOKS
//   the `reject` hook, and data_post as well (qpsmtpd: a plugin that answered OK before naughty
//   at rcpt would otherwise let the session through): a `naughty` note is answered with its
//   text (one line per reason) and the result the first reason asked for (the note
//   naughty_reject_type), else this plugin's reject_type.
//   auth_post: a client that authenticates is no longer naughty (the notes are removed), so
//   `reject mail` (or later) lets roaming users through listed addresses.
// NOTES
//   reads and clears connection notes naughty, naughty_reject_type (plugins/common/karma_note.hpp).
// FAIL MODES
//   none: nothing asynchronous.
#include <memory>
#include <string>

#include "core/proto/plugin_args.hpp"
#include "hooks/plugin.hpp"
#include "plugins/common/karma_note.hpp"
#include "plugins/common/reject_policy.hpp"

namespace asmtpd::plugins {

namespace {

class Naughty final : public hooks::Plugin {
public:
    std::optional<std::string> init(const hooks::PluginInit& in) override {
        proto::ArgPairs a;
        if (auto e = a.parse(in.line.args, {"reject", "reject_type", "loglevel"})) return e;
        if (auto r = a.get("reject")) {
            auto h = hooks::hook_from_name(*r);
            if (!h || (*h != hooks::Hook::Connect && *h != hooks::Hook::Mail && *h != hooks::Hook::Rcpt &&
                       *h != hooks::Hook::Data && *h != hooks::Hook::DataPost))
                return "reject must be connect, mail, rcpt, data or data_post, not '" + *r + "'";
            hook_ = *h;
        }
        if (auto t = a.get("reject_type")) {
            auto r = reject_type_from_string(*t);
            if (!r) return "reject_type must be perm, temp, disconnect or temp_disconnect, not '" + *t + "'";
            type_ = *r;
        }
        return std::nullopt;
    }

    void register_hooks(hooks::Registrar& r) override {
        using H = hooks::Hook;
        switch (hook_) {
        case H::Connect: r.on<H::Connect>(&Naughty::on_plain); break;
        case H::Mail: r.on<H::Mail>(&Naughty::on_address); break;
        case H::Rcpt: r.on<H::Rcpt>(&Naughty::on_address); break;
        case H::Data: r.on<H::Data>(&Naughty::on_plain); break;
        default: break;
        }
        r.on<H::DataPost>(&Naughty::on_plain);
        r.on<H::AuthPost>(&Naughty::on_auth);
    }

private:
    void on_plain(hooks::Context& ctx, const hooks::NoArgs&, hooks::HookCall call) { call.resolve(verdict(ctx)); }
    void on_address(hooks::Context& ctx, const hooks::AddressArgs&, hooks::HookCall call) {
        call.resolve(verdict(ctx));
    }

    hooks::Verdict verdict(hooks::Context& ctx) const {
        const auto& notes = ctx.notes();
        auto it = notes.find(kNaughtyNote);
        if (it == notes.end() || it->second.empty()) return hooks::Verdict::declined();
        hooks::Result type = type_;
        if (auto t = notes.find(kNaughtyTypeNote); t != notes.end()) {
            // asmtpd's plugins note the result's name; qpsmtpd's the reject_type word.
            if (auto r = hooks::result_from_string(t->second); r && hooks::is_deny(*r)) type = *r;
            else if (auto w = reject_type_from_string(t->second)) type = *w;
        }
        std::string text;
        for (char ch : it->second)
            if (ch != '\r') text += ch;
        ctx.log().info("naughty: fail, {}, {}", hooks::to_string(type), text.substr(0, text.find('\n')));
        hooks::Verdict v;
        v.result = type;
        v.text = std::move(text);
        return v;
    }

    void on_auth(hooks::Context& ctx, const hooks::AuthArgs&, hooks::HookCall call) {
        auto& notes = ctx.notes();
        if (notes.erase(std::string(kNaughtyNote))) ctx.log().info("naughty: cleared, the client authenticated");
        notes.erase(std::string(kNaughtyTypeNote));
        call.declined();
    }

    hooks::Hook hook_ = hooks::Hook::Rcpt;
    hooks::Result type_ = hooks::Result::DenyDisconnect;
};

}  // namespace

std::unique_ptr<hooks::Plugin> make_naughty() { return std::make_unique<Naughty>(); }

}  // namespace asmtpd::plugins

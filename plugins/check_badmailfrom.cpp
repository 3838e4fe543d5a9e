// NAME
//   check_badmailfrom (also: badmailfrom) - refuse blocked envelope senders.
// SYNOPSIS
//   check_badmailfrom          qpsmtpd style: refuse at MAIL
//   check_badmailfrom at rcpt  qmail-smtpd style: MAIL only flags the sender; every RCPT of that
//                              transaction gets "553 sorry, your envelope sender is in my
//                              badmailfrom list (#5.7.1)" (so a qmail-spp [mail] "O" before it
//                              skips the check, and [rcpt] programs never see such recipients)
// CONFIG
//   badmailfrom     one pattern a line, qmail format, optional message after white space:
//                     spammer@example.com            one address
//                     @example.net Go away           a whole domain (not its subdomains)
//                   ASCII case-insensitive. Lines starting with '!' (qpsmtpd's negated regex
//                   patterns) are not supported and skipped.
// HOOKS
//   mail: DENY (550) with the line's message, or "Your envelope sender is in my badmailfrom
//   list", when the sender matches; else DECLINED. The null sender <> never matches.
//   With "at rcpt": mail sets the transaction note "<instance>.badmailfrom" and DECLINES;
//   rcpt_pre DENIES (553, qmail's text) while the note is set. rcpt_pre runs before the rcpt
//   plugins, as qmail's flag check runs before qmail-spp's [rcpt]; the note ends with the
//   transaction, so an RSET or a new MAIL clears it.
// Rules: the file is read once in init().
#include <memory>
#include <string>

#include "plugins/common/address_list.hpp"
#include "hooks/plugin.hpp"

namespace asmtpd::plugins {

namespace {

class CheckBadmailfrom final : public hooks::Plugin {
public:
    std::optional<std::string> init(const hooks::PluginInit& in) override {
        const auto& args = in.line.args;
        if (args.size() == 2 && args[0] == "at" && args[1] == "rcpt") at_rcpt_ = true;
        else if (!args.empty()) return std::string("takes no arguments but 'at rcpt'");
        list_ = plugins::AddressList::parse(in.config.lines("badmailfrom"));
        return std::nullopt;
    }

    void register_hooks(hooks::Registrar& r) override {
        r.on<hooks::Hook::Mail>(&CheckBadmailfrom::on_mail);
        if (at_rcpt_) r.on<hooks::Hook::RcptPre>(&CheckBadmailfrom::on_rcpt_pre);
    }

private:
    std::string note_key() const { return name() + ".badmailfrom"; }

    void on_mail(hooks::Context& ctx, const hooks::AddressArgs& args, hooks::HookCall call) {
        const auto* hit = list_.match(args.address);
        if (!hit) return call.declined();
        ctx.log().info("sender {} matches badmailfrom '{}'", args.address.format(), hit->pattern);
        if (at_rcpt_) {
            if (auto* t = ctx.transaction()) t->notes[note_key()] = hit->pattern;
            return call.declined();
        }
        call.deny(hit->message.empty() ? "Your envelope sender is in my badmailfrom list" : hit->message);
    }

    void on_rcpt_pre(hooks::Context& ctx, const hooks::PathArgs&, hooks::HookCall call) {
        const auto* t = ctx.transaction();
        if (!t || !t->notes.count(note_key())) return call.declined();
        hooks::Verdict v = hooks::Verdict::deny();
        v.reply = proto::Reply::make(553, "", "sorry, your envelope sender is in my badmailfrom list (#5.7.1)");
        v.verbatim = true;
        call.resolve(std::move(v));
    }

    plugins::AddressList list_;
    bool at_rcpt_ = false;
};

}  // namespace

std::unique_ptr<hooks::Plugin> make_check_badmailfrom() { return std::make_unique<CheckBadmailfrom>(); }

}  // namespace asmtpd::plugins

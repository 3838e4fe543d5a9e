// NAME
//   check_badmailfrom (also: badmailfrom) - refuse blocked envelope senders.
// SYNOPSIS
//   check_badmailfrom      (no arguments)
// CONFIG
//   badmailfrom     one pattern a line, qmail format, optional message after white space:
//                     spammer@example.com            one address
//                     @example.net Go away           a whole domain (not its subdomains)
//                   ASCII case-insensitive. Lines starting with '!' (qpsmtpd's negated regex
//                   patterns) are not supported and skipped.
// HOOKS
//   mail: DENY (550) with the line's message, or "Your envelope sender is in my badmailfrom
//   list", when the sender matches; else DECLINED. The null sender <> never matches.
// Rules: the file is read once in init().
#include <memory>
#include <string>

#include "hooks/address_list.hpp"
#include "hooks/plugin.hpp"

namespace asmtpd::plugins {

namespace {

class CheckBadmailfrom final : public hooks::Plugin {
public:
    std::optional<std::string> init(const hooks::PluginInit& in) override {
        if (!in.line.args.empty()) return std::string("takes no arguments");
        list_ = hooks::AddressList::parse(in.config.lines("badmailfrom"));
        return std::nullopt;
    }

    void register_hooks(hooks::Registrar& r) override {
        r.on(hooks::Hook::Mail, &CheckBadmailfrom::on_mail);
    }

private:
    void on_mail(hooks::Context& ctx, const hooks::HookArgs& args, hooks::HookCall call) {
        const auto* hit = args.address ? list_.match(*args.address) : nullptr;
        if (!hit) return call.declined();
        ctx.log().info("sender {} matches badmailfrom '{}'", args.address->format(), hit->pattern);
        call.deny(hit->message.empty() ? "Your envelope sender is in my badmailfrom list" : hit->message);
    }

    hooks::AddressList list_;
};

}  // namespace

std::unique_ptr<hooks::Plugin> make_check_badmailfrom() { return std::make_unique<CheckBadmailfrom>(); }

}  // namespace asmtpd::plugins

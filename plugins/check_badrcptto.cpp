// NAME
//   check_badrcptto (also: badrcptto) - refuse blocked recipients.
// SYNOPSIS
//   check_badrcptto        (no arguments)
// CONFIG
//   badrcptto       one pattern a line, as badmailfrom: "user@example.com", "@example.com"
//                   (whole domain), or a domain-less "postmaster"; optional message after
//                   white space; ASCII case-insensitive; '!' lines skipped.
// HOOKS
//   rcpt: DENY (550) with the line's message or "Recipient address rejected" on a match;
//   else DECLINED. Put it before rcpt_ok, whose OK ends the chain.
// Rules: the file is read once in init().
#include <memory>
#include <string>

#include "plugins/common/address_list.hpp"
#include "hooks/plugin.hpp"

namespace asmtpd::plugins {

namespace {

class CheckBadrcptto final : public hooks::Plugin {
public:
    std::optional<std::string> init(const hooks::PluginInit& in) override {
        if (!in.line.args.empty()) return std::string("takes no arguments");
        list_ = plugins::AddressList::parse(in.config.lines("badrcptto"));
        return std::nullopt;
    }

    void register_hooks(hooks::Registrar& r) override {
        r.on<hooks::Hook::Rcpt>(&CheckBadrcptto::on_rcpt);
    }

private:
    void on_rcpt(hooks::Context& ctx, const hooks::AddressArgs& args, hooks::HookCall call) {
        const auto* hit = list_.match(args.address);
        if (!hit) return call.declined();
        ctx.log().info("recipient {} matches badrcptto '{}'", args.address.format(), hit->pattern);
        call.deny(hit->message.empty() ? "Recipient address rejected" : hit->message);
    }

    plugins::AddressList list_;
};

}  // namespace

std::unique_ptr<hooks::Plugin> make_check_badrcptto() { return std::make_unique<CheckBadrcptto>(); }

}  // namespace asmtpd::plugins

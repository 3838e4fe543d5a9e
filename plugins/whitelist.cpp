// NAME
//   whitelist - exempt listed clients, HELO names, senders and recipients from the policy
//   plugins that follow it (qpsmtpd's whitelist).
// SYNOPSIS
//   whitelist            (list it before the plugins it should exempt)
// CONFIG
//   whitelisthosts    client addresses: "192.0.2.7", "10.0.0.0/8", "2001:db8::/32", or qmail
//                     prefixes "192.168." (a malformed entry fails start-up)
//   whitelisthelo     HELO/EHLO names, ASCII case-insensitive
//   whitelistsenders  envelope senders: a whole address or a domain ("example.com")
//   whitelistrcpt     recipients: a whole address or a domain
//   WHITELISTCLIENT   in the client's environment (tcp.env): like a whitelisthosts match, noted
//                     as "whitelistclient"
// HOOKS
//   connect: a listed client gets the connection note "whitelisthost" (or "whitelistclient")
//            and OK, so later connect plugins do not run.
//   helo/ehlo: a listed name gets the connection note "whitelisthelo" and OK.
//   mail: a listed sender gets the transaction note "whitelistsender" and OK.
//   rcpt: a listed recipient increments the transaction note "whitelistrcpt" and is accepted
//         (OK): list only recipients you receive mail for, or this relays for them.
// Immunity: "whitelisthost" and "whitelistsender" make the session immune to every policy
// plugin (plugins/common/immunity.hpp, qpsmtpd's is_immune), as relay clients and
// authenticated users are. "whitelisthelo" only skips the helo plugins that follow (qpsmtpd
// keeps it out of is_immune on purpose: a HELO name proves nothing).
// Rules: files are read once in init().
#include <memory>
#include <string>
#include <vector>

#include "core/proto/ip_list.hpp"
#include "core/proto/text.hpp"
#include "hooks/plugin.hpp"
#include "plugins/common/immunity.hpp"

namespace asmtpd::plugins {

namespace {

std::vector<std::string> lowered(const std::vector<std::string>& lines) {
    std::vector<std::string> out;
    for (const auto& l : lines) out.push_back(proto::to_lower(l));
    return out;
}

bool listed(const std::vector<std::string>& list, const proto::Address& a) {
    if (a.is_null()) return false;
    std::string addr = proto::to_lower(a.bare()), host = a.domain_lower();
    for (const auto& e : list)
        if (e == addr || (!host.empty() && e == host)) return true;
    return false;
}

class Whitelist final : public hooks::Plugin {
public:
    std::optional<std::string> init(const hooks::PluginInit& in) override {
        if (!in.line.args.empty()) return std::string("takes no arguments");
        std::vector<std::string> bad;
        hosts_ = proto::IpList::parse(in.config.lines("whitelisthosts"), &bad);
        if (!bad.empty()) return "whitelisthosts: not an address, network or prefix: '" + bad.front() + "'";
        helos_ = lowered(in.config.lines("whitelisthelo"));
        senders_ = lowered(in.config.lines("whitelistsenders"));
        rcpts_ = lowered(in.config.lines("whitelistrcpt"));
        return std::nullopt;
    }

    void register_hooks(hooks::Registrar& r) override {
        r.on<hooks::Hook::Connect>(&Whitelist::on_connect);
        r.on<hooks::Hook::Helo>(&Whitelist::on_helo);
        r.on<hooks::Hook::Ehlo>(&Whitelist::on_helo);
        r.on<hooks::Hook::Mail>(&Whitelist::on_mail);
        r.on<hooks::Hook::Rcpt>(&Whitelist::on_rcpt);
    }

private:
    void on_connect(hooks::Context& ctx, const hooks::NoArgs&, hooks::HookCall call) {
        const auto& c = ctx.connection();
        if (c.env.count("WHITELISTCLIENT")) {
            ctx.notes()["whitelistclient"] = "1";
            ctx.log().info("whitelist: {} is a whitelisted client (WHITELISTCLIENT)", c.remote_ip);
            return call.ok();
        }
        if (!hosts_.matches(c.remote_ip)) return call.declined();
        ctx.notes()[std::string(kWhitelistHostNote)] = "1";
        ctx.log().info("whitelist: host {} is a whitelisted host", c.remote_ip);
        call.ok();
    }

    void on_helo(hooks::Context& ctx, const hooks::HeloArgs& args, hooks::HookCall call) {
        std::string helo = proto::to_lower(args.host);
        for (const auto& h : helos_) {
            if (h != helo) continue;
            ctx.notes()["whitelisthelo"] = "1";
            ctx.log().info("whitelist: helo host {} in whitelisthelo", args.host);
            return call.ok();
        }
        call.declined();
    }

    void on_mail(hooks::Context& ctx, const hooks::AddressArgs& args, hooks::HookCall call) {
        auto* t = ctx.transaction();
        if (!t || !listed(senders_, args.address)) return call.declined();
        t->notes[std::string(kWhitelistSenderNote)] = "1";
        ctx.log().info("whitelist: envelope sender {} in whitelistsenders", args.address.format());
        call.ok();
    }

    void on_rcpt(hooks::Context& ctx, const hooks::AddressArgs& args, hooks::HookCall call) {
        auto* t = ctx.transaction();
        if (!t || !listed(rcpts_, args.address)) return call.declined();
        auto& count = t->notes["whitelistrcpt"];
        count = std::to_string((count.empty() ? 0 : std::stoul(count)) + 1);
        ctx.log().info("whitelist: recipient {} in whitelistrcpt", args.address.format());
        call.ok();
    }

    proto::IpList hosts_;
    std::vector<std::string> helos_, senders_, rcpts_;
};

}  // namespace

std::unique_ptr<hooks::Plugin> make_whitelist() { return std::make_unique<Whitelist>(); }

}  // namespace asmtpd::plugins

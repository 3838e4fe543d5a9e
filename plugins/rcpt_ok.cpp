// NAME
//   rcpt_ok - accept recipients in local domains, and any recipient of a relay client.
// SYNOPSIS
//   rcpt_ok                (qpsmtpd wording: 550 5.7.1 Relaying denied)
//   rcpt_ok qmail          (qmail-smtpd wording: 553 sorry, that domain isn't in my list of
//                          allowed rcpthosts (#5.7.1); for qmail-spp set-ups, after spp)
// CONFIG
//   me              this host's name (default: asmtpd.yaml hostname); always local
//   rcpthosts       local domains, one a line: "example.com" (exactly that domain) or
//                   ".example.com" (every subdomain of example.com, not the domain itself);
//                   address literals are listed as written: "[192.0.2.1]"
//   morercpthosts   more of the same (qmail keeps it as a CDB; here it is a flat file)
// HOOKS
//   rcpt: OK when the connection is a relay client, the recipient's domain is local (ASCII
//   case-insensitive), or the address is a bare <postmaster> / <abuse> (RFC 5321 §4.5.1).
//   Anything else: DENY "Relaying denied" (550 5.7.1), or qmail's 553 text. Put it after the
//   other rcpt plugins, since its OK ends the chain.
// Rules: files are read once in init() (plugins::RcptHosts); the handler only looks at memory.
#include <memory>
#include <string>

#include "core/proto/text.hpp"
#include "hooks/plugin.hpp"
#include "plugins/common/rcpthosts.hpp"

namespace asmtpd::plugins {

namespace {

class RcptOk final : public hooks::Plugin {
public:
    std::optional<std::string> init(const hooks::PluginInit& in) override {
        const auto& args = in.line.args;
        if (args.size() == 1 && args[0] == "qmail") qmail_ = true;
        else if (!args.empty()) return "takes no arguments but 'qmail'";
        hosts_ = plugins::RcptHosts::load(in.config, in.server.hostname);
        return std::nullopt;
    }

    void register_hooks(hooks::Registrar& r) override { r.on<hooks::Hook::Rcpt>(&RcptOk::on_rcpt); }

private:
    void on_rcpt(hooks::Context& ctx, const hooks::AddressArgs& args, hooks::HookCall call) {
        if (ctx.connection().relay_client) return call.ok();
        const auto& a = args.address;
        if (a.domain.empty()) {
            if (proto::iequals(a.local, "postmaster") || proto::iequals(a.local, "abuse")) return call.ok();
            return refuse(call);
        }
        if (hosts_.local_domain(a.domain)) return call.ok();
        refuse(call);
    }

    void refuse(hooks::HookCall& call) const {
        if (!qmail_) return call.deny("Relaying denied");
        hooks::Verdict v = hooks::Verdict::deny();
        v.reply = proto::Reply::make(553, "", "sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)");
        v.verbatim = true;   // qmail's text carries its code in "(#5.7.1)", not in front
        call.resolve(std::move(v));
    }

    plugins::RcptHosts hosts_;
    bool qmail_ = false;
};

}  // namespace

std::unique_ptr<hooks::Plugin> make_rcpt_ok() { return std::make_unique<RcptOk>(); }

}  // namespace asmtpd::plugins

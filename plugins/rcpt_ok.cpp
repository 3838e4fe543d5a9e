// NAME
//   rcpt_ok - accept recipients in local domains, and any recipient of a relay client.
// SYNOPSIS
//   rcpt_ok                (no arguments)
// CONFIG
//   me              this host's name (default: asmtpd.yaml hostname); always local
//   rcpthosts       local domains, one a line: "example.com" (exactly that domain) or
//                   ".example.com" (every subdomain of example.com, not the domain itself);
//                   address literals are listed as written: "[192.0.2.1]"
//   morercpthosts   more of the same (qmail keeps it as a CDB; here it is a flat file)
// HOOKS
//   rcpt: OK when the connection is a relay client, the recipient's domain is local (ASCII
//   case-insensitive), or the address is a bare <postmaster> / <abuse> (RFC 5321 §4.5.1).
//   Anything else: DENY "Relaying denied" (550 5.7.1). Put it after the other rcpt plugins,
//   since its OK ends the chain.
// Rules: files are read once in init(); the handler only looks at in-memory sets.
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/proto/text.hpp"
#include "hooks/plugin.hpp"

namespace asmtpd::plugins {

namespace {

class RcptOk final : public hooks::Plugin {
public:
    std::optional<std::string> init(const hooks::PluginInit& in) override {
        if (!in.line.args.empty()) return "takes no arguments";
        auto me = in.config.first("me");
        add(me ? *me : in.server.hostname);
        for (const auto* file : {"rcpthosts", "morercpthosts"})
            for (const auto& entry : in.config.lines(file)) add(entry);
        return std::nullopt;
    }

    void register_hooks(hooks::Registrar& r) override { r.on(hooks::Hook::Rcpt, &RcptOk::on_rcpt); }

private:
    void add(std::string_view entry) {
        if (entry.empty()) return;
        std::string e = proto::to_lower(entry);
        if (e.front() == '.') {
            if (e.size() > 1) suffixes_.push_back(std::move(e));
        } else {
            exact_.insert(std::move(e));
        }
    }

    bool local_domain(const std::string& domain) const {
        if (exact_.count(domain)) return true;
        for (const auto& s : suffixes_)
            if (domain.size() > s.size() && domain.compare(domain.size() - s.size(), s.size(), s) == 0)
                return true;
        return false;
    }

    void on_rcpt(hooks::Context& ctx, const hooks::HookArgs& args, hooks::HookCall call) {
        if (ctx.connection().relay_client) return call.ok();
        if (!args.address) return call.declined();   // not a rcpt call: leave it to others
        const auto& a = *args.address;
        if (a.domain.empty()) {
            if (proto::iequals(a.local, "postmaster") || proto::iequals(a.local, "abuse")) return call.ok();
            return call.deny("Relaying denied");
        }
        if (local_domain(proto::to_lower(a.domain))) return call.ok();
        call.deny("Relaying denied");
    }

    std::set<std::string, std::less<>> exact_;
    std::vector<std::string> suffixes_;   // ".example.com"
};

}  // namespace

std::unique_ptr<hooks::Plugin> make_rcpt_ok() { return std::make_unique<RcptOk>(); }

}  // namespace asmtpd::plugins

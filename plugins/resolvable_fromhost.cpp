// NAME
//   resolvable_fromhost - the sender's domain must be able to receive mail (qpsmtpd's
//   resolvable_fromhost): an MX, or an A/AAAA record (implicit MX, RFC 5321 §5.1), outside
//   the networks mail can never come back through.
// SYNOPSIS
//   resolvable_fromhost [reject 0|1|naughty] [reject_type perm|temp|...] [timeout SECONDS]
//   defaults: reject 1, reject_type perm, timeout 5 (below the plugin timeout)
// CONFIG
//   invalid_resolvable_fromhost  networks an MX (or the implicit MX) must not point into, one
//                                a line ("10.0.0.0/8", "fc00::/7"); when the file is missing:
//                                0/8, 10/8, 127/8, 169.254/16, 172.16/12, 192.168/16, 224/4,
//                                240/4, ::1, ::, fc00::/7, fe80::/10, ff00::/8
// HOOKS
//   mail: MX of the sender domain, then A and AAAA of the MX hosts (at most 10) or of the
//   domain itself. The null sender and address literals are not checked.
//     null MX (RFC 7505)           550 5.7.27 "Sender domain <d> does not accept mail"
//     NXDOMAIN                     550 5.1.8 "Sender domain <d> does not exist"
//     no MX/A/AAAA, or none usable 550 5.1.8 "... has no MX or A record" / "... points into a
//                                  private or loopback network"
//     SERVFAIL or timeout          451 4.4.3 "Temporary failure in DNS lookup of <d>" (always
//                                  temporary, whatever reject_type says)
//   reject 0 logs only; reject naughty defers (plugins/common/reject_policy.hpp).
// NOTES  transaction "resolvable_fromhost": pass, nullmx, nxdomain, fail, temperror.
// Immune sessions (relay clients, authenticated, whitelisted host or sender) are not checked.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/proto/cidr.hpp"
#include "core/proto/plugin_args.hpp"
#include "core/proto/reply.hpp"
#include "hooks/plugin.hpp"
#include "plugins/common/dns_batch.hpp"
#include "plugins/common/immunity.hpp"
#include "plugins/common/reject_policy.hpp"

namespace asmtpd::plugins {

namespace {

constexpr std::size_t kMaxMxHosts = 10;
using Clock = std::chrono::steady_clock;

const std::vector<std::string> kDefaultInvalid = {
    "0.0.0.0/8", "10.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16",
    "224.0.0.0/4", "240.0.0.0/4", "::1/128", "::/128", "fc00::/7", "fe80::/10", "ff00::/8"};

struct Outcome {
    std::string note;    // the transaction note's value
    int code = 0;        // 0: pass
    std::string esc;
    std::string text;
};

class ResolvableFromhost final : public hooks::Plugin {
public:
    std::optional<std::string> init(const hooks::PluginInit& in) override {
        proto::ArgPairs args;
        auto e = read_policy_args(in.line.args, {"reject", "reject_type", "timeout"}, args, policy_, timeout_ms_);
        if (e) return e;
        std::vector<std::string> bad;
        bool configured = in.config.exists("invalid_resolvable_fromhost");
        invalid_ = proto::CidrList::parse(configured ? in.config.lines("invalid_resolvable_fromhost") : kDefaultInvalid, &bad);
        if (!bad.empty()) return "invalid_resolvable_fromhost: not a network: '" + bad.front() + "'";
        return std::nullopt;
    }

    void register_hooks(hooks::Registrar& r) override { r.on<hooks::Hook::Mail>(&ResolvableFromhost::on_mail); }

private:
    void on_mail(hooks::Context& ctx, const hooks::AddressArgs& args, hooks::HookCall call) {
        if (args.address.is_null()) return call.declined();
        std::string domain = args.address.domain_lower();
        if (domain.empty() || domain.front() == '[') return call.declined();
        if (auto why = immunity(ctx); !why.empty()) return call.declined();
        auto* c = &ctx;
        auto started = Clock::now();
        dns_lookup_all(ctx.dns(), {{domain, proto::DnsType::mx}}, deadline(),
                       [this, c, call, domain, started](auto r) { on_mx(*c, call, domain, r.front(), started); });
    }

    void on_mx(hooks::Context& ctx, hooks::HookCall call, const std::string& domain,
               const proto::DnsResult& mx, Clock::time_point started) {
        if (dns_failed(mx)) return finish(ctx, call, domain, temp(domain, dns_outcome(mx)));
        if (mx.status == proto::DnsStatus::nxdomain)
            return finish(ctx, call, domain, {"nxdomain", 550, "5.1.8", "Sender domain " + domain + " does not exist"});
        std::vector<std::string> hosts;
        for (const auto& rec : mx.records) {
            if (rec.value.empty() || rec.value == ".")   // RFC 7505 §3: "0 ." says no mail at all
                return finish(ctx, call, domain,
                              {"nullmx", 550, "5.7.27", "Sender domain " + domain + " does not accept mail (null MX)"});
            if (hosts.size() < kMaxMxHosts) hosts.push_back(rec.value);
        }
        if (hosts.empty()) hosts.push_back(domain);   // no MX: the implicit MX (RFC 5321 §5.1)
        std::vector<DnsQuestion> q;
        for (const auto& h : hosts) {
            q.push_back({h, proto::DnsType::a});
            q.push_back({h, proto::DnsType::aaaa});
        }
        auto spent = static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count());
        auto* c = &ctx;
        dns_lookup_all(ctx.dns(), std::move(q), deadline() > spent ? deadline() - spent : 1,
                       [this, c, call, domain](auto r) { finish(*c, call, domain, judge(domain, r)); });
    }

    Outcome judge(const std::string& domain, const std::vector<proto::DnsResult>& r) const {
        bool failed = false, any = false;
        for (const auto& res : r) {
            failed = failed || dns_failed(res);
            for (const auto& rec : res.records) {
                any = true;
                if (!invalid_.matches(rec.value)) return {"pass", 0, {}, {}};
            }
        }
        if (failed) return temp(domain, "MX host lookup failed");
        if (any) return {"fail", 550, "5.1.8", "Sender domain " + domain + " points into a private or loopback network"};
        return {"fail", 550, "5.1.8", "Sender domain " + domain + " has no MX or A record"};
    }

    static Outcome temp(const std::string& domain, const std::string& why) {
        return {"temperror " + why, 451, "4.4.3", "Temporary failure in DNS lookup of " + domain};
    }

    void finish(hooks::Context& ctx, const hooks::HookCall& call, const std::string& domain, const Outcome& o) {
        if (auto* t = ctx.transaction()) t->notes["resolvable_fromhost"] = o.note;
        if (o.code == 0) {
            ctx.log().info("resolvable_fromhost: pass, {}", domain);
            return call.declined();
        }
        RejectPolicy p = policy_;
        if (o.code < 500) p.type = hooks::disconnects(p.type) ? hooks::Result::DenySoftDisconnect : hooks::Result::DenySoft;
        auto v = p.apply(ctx, name(), o.text, domain + ": " + o.note);
        if (hooks::is_deny(v.result)) v.reply = proto::Reply::make(o.code, o.esc, o.text);
        call.resolve(std::move(v));
    }

    std::uint64_t deadline() const { return dns_deadline_ms(timeout(), timeout_ms_); }

    RejectPolicy policy_;
    std::optional<std::uint64_t> timeout_ms_;
    proto::CidrList invalid_;
};

}  // namespace

std::unique_ptr<hooks::Plugin> make_resolvable_fromhost() { return std::make_unique<ResolvableFromhost>(); }

}  // namespace asmtpd::plugins

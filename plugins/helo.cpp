// NAME
//   helo - validate the HELO/EHLO name (qpsmtpd's helo plugin).
// SYNOPSIS
//   helo [policy lenient|rfc|strict] [reject 0|1|naughty] [reject_type perm|temp|disconnect|temp_disconnect]
//        [timeout SECONDS]
//   defaults (qpsmtpd's): policy lenient, reject 1, reject_type disconnect, timeout 5
// CONFIG
//   badhelo   names (case-insensitive) or regular expressions (a line holding one of
//             {}[]()^$|*+?\!; a leading '!' negates); a bad expression fails start-up
// POLICIES
//   lenient  badhelo; "localhost" only from loopback; our own name or address only from
//            loopback; an address literal must be the client's address; no plain IP
//   rfc      lenient + a fully qualified name of letters, digits, '-' and '.'; the name must
//            exist and have A/AAAA records; the client's address must have a PTR
//   strict   rfc + no address literal at all; the name must match the client, forward (an
//            A/AAAA in the client's /24 or /96) or reverse (a PTR name sharing the HELO
//            name's last two labels)
// HOOKS
//   helo/ehlo: the checks of the policy, first failure refuses per reject; data_post: adds an
//   "X-HELO: <name>" header.
// NOTES (connection)  "helo_forward_match", "helo_reverse_match" ("1") under rfc and strict.
// FAIL MODES  SERVFAIL or timeout of a lookup skips the test that needed it (accept and log).
// Immune sessions (relay clients, authenticated, whitelisted host) are not checked; the
// whitelist plugin's whitelisthelo answers OK before this plugin runs when listed first.
#include <memory>
#include <string>
#include <vector>

#include "core/proto/cidr.hpp"
#include "core/proto/helo_rules.hpp"
#include "core/proto/plugin_args.hpp"
#include "hooks/plugin.hpp"
#include "plugins/common/dns_batch.hpp"
#include "plugins/common/immunity.hpp"
#include "plugins/common/reject_policy.hpp"

namespace asmtpd::plugins {

namespace {

class Helo final : public hooks::Plugin {
public:
    std::optional<std::string> init(const hooks::PluginInit& in) override {
        policy_reject_.type = hooks::Result::DenyDisconnect;
        proto::ArgPairs args;
        auto e = read_policy_args(in.line.args, {"policy", "reject", "reject_type", "timeout"}, args, policy_reject_, timeout_ms_);
        if (e) return e;
        if (auto p = args.get("policy")) {
            auto parsed = proto::helo_policy_from_string(*p);
            if (!parsed) return "policy must be lenient, rfc or strict, not '" + *p + "'";
            policy_ = *parsed;
        }
        std::vector<std::string> bad;
        badhelo_ = proto::BadHelo::parse(in.config.lines("badhelo"), &bad);
        if (!bad.empty()) return "badhelo: not a regular expression: '" + bad.front() + "'";
        return std::nullopt;
    }

    void register_hooks(hooks::Registrar& r) override {
        r.on<hooks::Hook::Helo>(&Helo::on_helo);
        r.on<hooks::Hook::Ehlo>(&Helo::on_helo);
        r.on<hooks::Hook::DataPost>(&Helo::on_data_post);
    }

private:
    void on_helo(hooks::Context& ctx, const hooks::HeloArgs& args, hooks::HookCall call) {
        if (args.host.empty()) return call.declined();
        if (auto why = immunity(ctx); !why.empty()) {
            ctx.log().info("helo: skip, {}", why);
            return call.declined();
        }
        const auto& c = ctx.connection();
        proto::HeloFacts f;
        f.host = args.host;
        f.remote_ip = c.remote_ip;
        f.remote_is_local = is_loopback_client(c.remote_ip);
        f.me = ctx.server().hostname;
        if (!c.local_ip.empty()) f.my_ips.push_back(c.local_ip);
        if (auto fail = proto::helo_static_check(policy_, f, badhelo_))
            return call.resolve(policy_reject_.apply(ctx, name(), fail->reply, fail->log));
        if (policy_ == proto::HeloPolicy::lenient) return call.declined();

        std::vector<DnsQuestion> q;
        bool is_name = proto::helo_is_name(args.host);
        if (is_name) {
            q.push_back({args.host, proto::DnsType::a});
            q.push_back({args.host, proto::DnsType::aaaa});
        }
        q.push_back({proto::dns_reverse_name(c.remote_ip).value_or(""), proto::DnsType::ptr});
        auto* cp = &ctx;
        dns_lookup_all(ctx.dns(), std::move(q), deadline(), [this, cp, call, is_name, host = args.host](auto r) {
            auto fail = dns_checks(*cp, host, is_name, r);
            if (!fail) return call.declined();
            call.resolve(policy_reject_.apply(*cp, name(), fail->reply, fail->log));
        });
    }

    // qpsmtpd's no_forward_dns, no_reverse_dns and (strict) no_matching_dns, in that order.
    std::optional<proto::HeloFailure> dns_checks(hooks::Context& ctx, const std::string& host, bool is_name,
                                                 const std::vector<proto::DnsResult>& r) const {
        const std::string& ip = ctx.connection().remote_ip;
        auto& notes = ctx.notes();
        if (is_name) {
            const auto &a = r[0], &aaaa = r[1];
            if (dns_failed(a) && dns_failed(aaaa)) {
                ctx.log().warn("helo: skip forward DNS test, {}", dns_outcome(a));
            } else if (a.status == proto::DnsStatus::nxdomain) {
                return proto::HeloFailure{"HELO hostname does not exist", "no such host"};
            } else if (!dns_found(a) && !dns_found(aaaa)) {
                return proto::HeloFailure{"HELO hostname did not resolve", "no forward DNS"};
            }
            for (const auto* res : {&a, &aaaa})
                for (const auto& rec : res->records)
                    if (proto::helo_ip_near(rec.value, ip)) notes["helo_forward_match"] = "1";
        }
        const auto& ptr = r.back();
        if (dns_failed(ptr)) {
            ctx.log().warn("helo: skip reverse DNS test, {}", dns_outcome(ptr));
        } else if (!dns_found(ptr) || ptr.records.empty()) {
            return proto::HeloFailure{"no reverse DNS for " + ip, "no rDNS"};
        }
        for (const auto& rec : ptr.records)
            if (proto::helo_name_near(rec.value, host)) notes["helo_reverse_match"] = "1";
        if (policy_ == proto::HeloPolicy::strict && !notes.count("helo_forward_match") &&
            !notes.count("helo_reverse_match"))
            return proto::HeloFailure{"That HELO hostname fails FCrDNS", "no matching DNS"};
        ctx.log().info("helo: pass");
        return std::nullopt;
    }

    void on_data_post(hooks::Context& ctx, const hooks::NoArgs&, hooks::HookCall call) {
        const auto& host = ctx.connection().helo_host;
        if (auto* t = ctx.transaction(); t && !host.empty()) t->added_headers.push_back("X-HELO: " + host);
        call.declined();
    }

    std::uint64_t deadline() const { return dns_deadline_ms(timeout(), timeout_ms_); }

    proto::HeloPolicy policy_ = proto::HeloPolicy::lenient;
    RejectPolicy policy_reject_;
    std::optional<std::uint64_t> timeout_ms_;
    proto::BadHelo badhelo_;
};

}  // namespace

std::unique_ptr<hooks::Plugin> make_helo() { return std::make_unique<Helo>(); }

}  // namespace asmtpd::plugins

// NAME
//   fcrdns - forward-confirmed reverse DNS of the client (qpsmtpd's fcrdns), and the iprev
//   result for Authentication-Results (RFC 8601 §3).
// SYNOPSIS
//   fcrdns [reject 0|1|naughty] [reject_type perm|temp|disconnect|temp_disconnect] [timeout SECONDS]
//   defaults (qpsmtpd's): reject 0 (log and note only), reject_type temp, timeout 5
// HOOKS
//   connect: PTR of the client's address, then A and AAAA of every PTR name (at most 10);
//   a name whose addresses include the client's confirms it. Loopback clients pass untested.
// NOTES (connection)
//   "iprev": "<result> <name>", result pass|fail|temperror|permerror as RFC 8601 §2.7.3
//            defines them, name the confirmed PTR name (pass) or the first PTR name (may be
//            absent): "pass mx.example.com", "permerror".
//   "fcrdns": the confirmed name on pass. On pass the connection's remote host becomes that
//            name, so the Received header and later plugins see it (else "Unknown").
// REFUSALS (with reject 1)
//   no PTR (permerror): "no reverse DNS for <ip>"; not confirmed (fail): "reverse DNS of <ip>
//   does not resolve back to it". A DNS failure (temperror) is never refused: logged and noted.
// Unlike qpsmtpd, a forward address in the client's /24 does not confirm: iprev is exact.
// Immune sessions (relay clients, whitelisted hosts) are not checked.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/proto/cidr.hpp"
#include "core/proto/plugin_args.hpp"
#include "hooks/plugin.hpp"
#include "plugins/common/dns_batch.hpp"
#include "plugins/common/immunity.hpp"
#include "plugins/common/reject_policy.hpp"

namespace asmtpd::plugins {

namespace {

constexpr std::size_t kMaxPtrNames = 10;
using Clock = std::chrono::steady_clock;

class Fcrdns final : public hooks::Plugin {
public:
    std::optional<std::string> init(const hooks::PluginInit& in) override {
        policy_.mode = RejectPolicy::Mode::log_only;
        policy_.type = hooks::Result::DenySoft;
        proto::ArgPairs args;
        auto e = read_policy_args(in.line.args, {"reject", "reject_type", "timeout"}, args, policy_, timeout_ms_);
        if (e) return e;
        return std::nullopt;
    }

    void register_hooks(hooks::Registrar& r) override { r.on<hooks::Hook::Connect>(&Fcrdns::on_connect); }

private:
    void on_connect(hooks::Context& ctx, const hooks::NoArgs&, hooks::HookCall call) {
        if (auto why = immunity(ctx); !why.empty()) {
            ctx.log().info("fcrdns: skip, {}", why);
            return call.declined();
        }
        const std::string ip = ctx.connection().remote_ip;
        auto addr = proto::parse_ip(ip);
        auto ptr_name = proto::dns_reverse_name(ip);
        if (!addr || !ptr_name) return call.declined();
        if (is_loopback_client(ip)) {
            ctx.log().info("fcrdns: pass, is localhost");
            return call.declined();
        }
        auto* c = &ctx;
        auto started = Clock::now();
        dns_lookup_all(ctx.dns(), {{*ptr_name, proto::DnsType::ptr}}, deadline(),
                       [this, c, call, started](auto results) { on_ptr(*c, call, results.front(), started); });
    }

    void on_ptr(hooks::Context& ctx, hooks::HookCall call, const proto::DnsResult& ptr, Clock::time_point started) {
        const std::string& ip = ctx.connection().remote_ip;
        if (dns_failed(ptr)) return finish(ctx, std::move(call), "temperror", "", "PTR " + dns_outcome(ptr));
        if (dns_none(ptr) || ptr.records.empty())
            return finish(ctx, std::move(call), "permerror", "", "no rDNS: " + dns_outcome(ptr));
        std::vector<std::string> names;
        for (const auto& r : ptr.records)
            if (names.size() < kMaxPtrNames) names.push_back(r.value);
        std::vector<DnsQuestion> q;
        for (const auto& n : names) {
            q.push_back({n, proto::DnsType::a});
            q.push_back({n, proto::DnsType::aaaa});
        }
        auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
        auto left = deadline() > static_cast<std::uint64_t>(spent) ? deadline() - spent : 1;
        auto* c = &ctx;
        dns_lookup_all(ctx.dns(), std::move(q), left, [this, c, call, names, ip](auto results) {
            auto me = proto::parse_ip(ip);
            bool failed = false;
            for (std::size_t i = 0; i < results.size(); ++i) {
                failed = failed || dns_failed(results[i]);
                for (const auto& rec : results[i].records)
                    if (proto::parse_ip(rec.value) == me) return finish(*c, call, "pass", names[i / 2], "");
            }
            // RFC 8601 §2.7.3: an unanswered forward query is a temporary error, not a mismatch.
            if (failed) return finish(*c, call, "temperror", names.front(), "forward lookup failed");
            finish(*c, call, "fail", names.front(), "no PTR name resolves back to " + ip);
        });
    }

    void finish(hooks::Context& ctx, hooks::HookCall call, std::string_view result, const std::string& name,
                const std::string& why) {
        auto& notes = ctx.notes();
        notes["iprev"] = name.empty() ? std::string(result) : std::string(result) + " " + name;
        ctx.log().info("fcrdns: iprev {}", notes["iprev"]);
        const std::string& ip = ctx.connection().remote_ip;
        if (result == "pass") {
            notes["fcrdns"] = name;
            ctx.connection().remote_host = name;
            ctx.log().info("fcrdns: pass, {} is {}", ip, name);
            return call.declined();
        }
        if (result == "temperror") {
            ctx.log().warn("fcrdns: temperror for {}: {}, accepting", ip, why);
            return call.declined();
        }
        std::string reply = result == "permerror" ? "no reverse DNS for " + ip
                                                  : "reverse DNS of " + ip + " does not resolve back to it";
        call.resolve(policy_.apply(ctx, this->name(), reply, std::string(result) + ", " + why));
    }

    std::uint64_t deadline() const { return dns_deadline_ms(timeout(), timeout_ms_); }

    RejectPolicy policy_;
    std::optional<std::uint64_t> timeout_ms_;
};

}  // namespace

std::unique_ptr<hooks::Plugin> make_fcrdns() { return std::make_unique<Fcrdns>(); }

}  // namespace asmtpd::plugins

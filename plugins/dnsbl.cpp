// NAME
//   dnsbl - refuse clients whose address is on DNS block lists (qpsmtpd's dnsbl, rblsmtpd).
// SYNOPSIS
//   dnsbl [reject 0|1|naughty] [reject_type perm|temp|disconnect|temp_disconnect] [timeout SECONDS]
//   defaults: reject 1, reject_type perm, timeout 5 (always below the plugin timeout)
// CONFIG
//   dnsbl_zones      one list a line: "zone" (the list's TXT record is the reply text) or
//                    "zone:message" (%IP% becomes the client's address); a malformed zone fails
//                    start-up. No zones: the plugin does nothing.
//   dnsbl_allow      clients never looked up: "192.0.2.7", "10.0.0.0/8", "172.16.33." ...
//   dnsbl_rejectmsg  lines put in front of the list's text in the reply
//   RBLSMTPD         in the client's environment (tcp.env), as rblsmtpd(1) reads it: empty =
//                    no lookups; "-text" = refuse every RCPT with 553 and text; other text =
//                    refuse every RCPT with 451 and text (%IP% expanded)
// HOOKS
//   connect: starts the lookups (A for every zone, TXT too for zones without a message) and
//            answers DECLINED at once; the answers land in the resolver's cache.
//   rcpt:    takes the answers (joining the lookups still in flight, or asking again if the
//            session outlived their deadline) and refuses listed clients per reject. Bare
//            <postmaster> and <abuse> recipients are never refused (RFC 5321 §4.5.1).
// NOTES
//   connection "dnsbl": the reply text when the client is listed; "dnsbl.result": listed,
//   clean or failed (with the zone that listed it, for other plugins and the log).
// FAIL MODES
//   SERVFAIL, timeout, refused: that zone counts as "not listed", logged (accept and log).
//   Answers outside 127.0.0.0/8 are ignored; 127.255.255.x ("query refused": public resolver,
//   over quota) is logged as a warning and ignored.
// Immune sessions (relay clients, authenticated, whitelisted host or sender) are never checked.
#include <memory>
#include <string>
#include <vector>

#include "core/proto/dns_lists.hpp"
#include "core/proto/ip_list.hpp"
#include "core/proto/plugin_args.hpp"
#include "core/proto/reply.hpp"
#include "core/proto/text.hpp"
#include "hooks/plugin.hpp"
#include "plugins/common/dns_batch.hpp"
#include "plugins/common/immunity.hpp"
#include "plugins/common/reject_policy.hpp"

namespace asmtpd::plugins {

namespace {

constexpr std::string_view kNote = "dnsbl";
constexpr std::string_view kResultNote = "dnsbl.result";

class Dnsbl final : public hooks::Plugin {
public:
    std::optional<std::string> init(const hooks::PluginInit& in) override {
        proto::ArgPairs args;
        auto e = read_policy_args(in.line.args, {"reject", "reject_type", "timeout"}, args, policy_, timeout_ms_);
        if (e) return e;
        std::vector<std::string> bad;
        zones_ = proto::parse_dnsbl_zones(in.config.lines("dnsbl_zones"), &bad);
        if (!bad.empty()) return "dnsbl_zones: not a zone: '" + bad.front() + "'";
        allow_ = proto::IpList::parse(in.config.lines("dnsbl_allow"), &bad);
        if (!bad.empty()) return "dnsbl_allow: not an address, network or prefix: '" + bad.front() + "'";
        for (const auto& l : in.config.lines("dnsbl_rejectmsg")) reject_msg_ += l + "\n";
        return std::nullopt;
    }

    void register_hooks(hooks::Registrar& r) override {
        r.on<hooks::Hook::Connect>(&Dnsbl::on_connect);
        r.on<hooks::Hook::Rcpt>(&Dnsbl::on_rcpt);
    }

private:
    // Why this client is not looked up, or empty.
    std::string skip_reason(hooks::Context& ctx) const {
        if (zones_.empty()) return "no dnsbl_zones";
        if (auto why = immunity(ctx); !why.empty()) return std::string(why);
        const auto& c = ctx.connection();
        if (proto::rblsmtpd_setting(c.env).kind != proto::RblsmtpdSetting::Kind::check) return "RBLSMTPD set";
        if (allow_.matches(c.remote_ip)) return "in dnsbl_allow";
        return {};
    }

    std::vector<DnsQuestion> questions(const std::string& ip) const {
        std::vector<DnsQuestion> q;
        for (const auto& z : zones_) {
            auto name = proto::dnsbl_query_name(ip, z.zone).value_or("");
            q.push_back({name, proto::DnsType::a});
            if (!z.message) q.push_back({name, proto::DnsType::txt});
        }
        return q;
    }

    void on_connect(hooks::Context& ctx, const hooks::NoArgs&, hooks::HookCall call) {
        if (auto why = skip_reason(ctx); !why.empty()) {
            if (!zones_.empty()) ctx.log().info("dnsbl: skip, {}", why);
            return call.declined();
        }
        // Only to start the questions early: the rcpt hook asks again and joins them.
        dns_lookup_all(ctx.dns(), questions(ctx.connection().remote_ip), deadline(), [](auto) {});
        call.declined();
    }

    void on_rcpt(hooks::Context& ctx, const hooks::AddressArgs& args, hooks::HookCall call) {
        if ((proto::iequals(args.address.local, "postmaster") ||
                             proto::iequals(args.address.local, "abuse")))
            return call.declined();
        const auto& c = ctx.connection();
        auto rbl = proto::rblsmtpd_setting(c.env);
        if (rbl.kind == proto::RblsmtpdSetting::Kind::reject_perm || rbl.kind == proto::RblsmtpdSetting::Kind::reject_temp) {
            if (is_immune(ctx)) return call.declined();
            ctx.log().info("dnsbl: RBLSMTPD for {}", c.remote_ip);
            std::string text = reject_msg_ + proto::expand_ip(rbl.text, c.remote_ip);
            bool perm = rbl.kind == proto::RblsmtpdSetting::Kind::reject_perm;
            // rblsmtpd's own codes: 553 for "-text", 451 otherwise.
            auto v = perm ? hooks::Verdict::deny(text) : hooks::Verdict::deny_soft(text);
            v.reply = proto::Reply::make(perm ? 553 : 451, perm ? "5.7.1" : "4.7.1", text);
            return call.resolve(std::move(v));
        }
        if (!skip_reason(ctx).empty()) return call.declined();
        if (auto it = ctx.notes().find(kResultNote); it != ctx.notes().end()) return decide(ctx, std::move(call));
        auto* c_ptr = &ctx;
        dns_lookup_all(ctx.dns(), questions(c.remote_ip), deadline(), [this, c_ptr, call](auto results) {
            record(*c_ptr, results);
            decide(*c_ptr, call);
        });
    }

    // Turns the answers into the notes (the first zone that lists the client wins).
    void record(hooks::Context& ctx, const std::vector<proto::DnsResult>& results) const {
        const std::string& ip = ctx.connection().remote_ip;
        std::string result = "clean";
        std::size_t at = 0;
        for (const auto& z : zones_) {
            const auto& a = results[at++];
            const proto::DnsResult* txt = z.message ? nullptr : &results[at++];
            if (dns_failed(a)) {
                ctx.log().warn("dnsbl: {}: {}, accepting", z.zone, dns_outcome(a));
                if (result == "clean") result = "failed " + z.zone;
                continue;
            }
            bool listed = false;
            for (const auto& rec : a.records) {
                switch (proto::classify_dns_list_answer(rec.value)) {
                case proto::DnsListAnswer::listed: listed = true; break;
                case proto::DnsListAnswer::refused:
                    ctx.log().warn("dnsbl: {} refused the query ({}), ignored", z.zone, rec.value);
                    break;
                case proto::DnsListAnswer::ignored:
                    ctx.log().info("dnsbl: {} answered {} (outside 127.0.0.0/8), ignored", z.zone, rec.value);
                    break;
                }
            }
            if (!listed) continue;
            std::string text = z.message ? *z.message
                               : (txt && dns_found(*txt) && !txt->records.empty()) ? txt->records.front().value
                                                                                    : "Blocked by " + z.zone;
            ctx.notes()[std::string(kNote)] = reject_msg_ + proto::expand_ip(text, ip);
            ctx.notes()[std::string(kResultNote)] = "listed " + z.zone;
            return;
        }
        ctx.notes()[std::string(kResultNote)] = result;
    }

    void decide(hooks::Context& ctx, hooks::HookCall call) const {
        auto it = ctx.notes().find(kNote);
        if (it == ctx.notes().end()) return call.declined();
        const auto& result = ctx.notes()[std::string(kResultNote)];
        call.resolve(policy_.apply(ctx, name(), it->second, result));
    }

    std::uint64_t deadline() const { return dns_deadline_ms(timeout(), timeout_ms_); }

    RejectPolicy policy_;
    std::optional<std::uint64_t> timeout_ms_;
    std::vector<proto::DnsListZone> zones_;
    proto::IpList allow_;
    std::string reject_msg_;
};

}  // namespace

std::unique_ptr<hooks::Plugin> make_dnsbl() { return std::make_unique<Dnsbl>(); }

}  // namespace asmtpd::plugins

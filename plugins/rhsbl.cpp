// NAME
//   rhsbl - refuse senders whose domain (and, optionally, HELO name) is on a right-hand-side
//   DNS block list (qpsmtpd's rhsbl).
// SYNOPSIS
//   rhsbl [check_helo 0|1] [reject 0|1|naughty] [reject_type perm|temp|...] [timeout SECONDS]
//   defaults: check_helo 0, reject 1, reject_type perm, timeout 5 (below the plugin timeout)
// CONFIG
//   rhsbl_zones   one list a line: "zone" or "zone message" (message after white space; the
//                 reply is "Mail from <domain> rejected because it <message>", default message
//                 "is listed in <zone>"). A malformed zone fails start-up.
// HOOKS
//   mail: starts the A lookups of <sender domain>.<zone> (and <helo>.<zone> with check_helo 1)
//         and answers DECLINED: MTAs cope badly with refusals at MAIL.
//   rcpt: takes the answers (joining the lookups in flight) and refuses per reject. Bare
//         <postmaster> and <abuse> recipients are never refused. The null sender is not checked.
// NOTES
//   transaction "rhsbl": "listed <name>", "clean" or "failed <name>".
// FAIL MODES
//   SERVFAIL, timeout: that name counts as not listed, logged. Only 127.0.0.0/8 answers list;
//   127.255.255.x (query refused) is logged and ignored.
// Immune sessions (relay clients, authenticated, whitelisted host or sender) are never checked.
#include <memory>
#include <string>
#include <vector>

#include "core/proto/dns_lists.hpp"
#include "core/proto/plugin_args.hpp"
#include "core/proto/text.hpp"
#include "hooks/plugin.hpp"
#include "plugins/common/dns_batch.hpp"
#include "plugins/common/immunity.hpp"
#include "plugins/common/reject_policy.hpp"

namespace asmtpd::plugins {

namespace {

constexpr std::string_view kNote = "rhsbl";

struct Lookup {
    std::string host;       // the domain checked
    std::string query;      // host.zone
    const proto::DnsListZone* zone;
    bool helo;
};

class Rhsbl final : public hooks::Plugin {
public:
    std::optional<std::string> init(const hooks::PluginInit& in) override {
        proto::ArgPairs args;
        auto e = read_policy_args(in.line.args, {"check_helo", "reject", "reject_type", "timeout"}, args, policy_, timeout_ms_);
        if (e) return e;
        if (auto h = args.get("check_helo")) {
            if (*h != "0" && *h != "1") return "check_helo must be 0 or 1, not '" + *h + "'";
            check_helo_ = *h == "1";
        }
        std::vector<std::string> bad;
        zones_ = proto::parse_rhsbl_zones(in.config.lines("rhsbl_zones"), &bad);
        if (!bad.empty()) return "rhsbl_zones: not a zone: '" + bad.front() + "'";
        return std::nullopt;
    }

    void register_hooks(hooks::Registrar& r) override {
        r.on<hooks::Hook::Mail>(&Rhsbl::on_mail);
        r.on<hooks::Hook::Rcpt>(&Rhsbl::on_rcpt);
    }

private:
    std::vector<Lookup> lookups(hooks::Context& ctx) const {
        std::vector<Lookup> out;
        const auto* t = ctx.transaction();
        if (zones_.empty() || !t || !t->sender || t->sender->is_null()) return out;
        std::vector<std::pair<std::string, bool>> hosts{{t->sender->domain_lower(), false}};
        std::string helo = proto::to_lower(ctx.connection().helo_host);
        if (check_helo_ && !helo.empty() && helo != hosts.front().first) hosts.emplace_back(helo, true);
        for (const auto& [host, is_helo] : hosts)
            for (const auto& z : zones_)
                if (auto q = proto::rhsbl_query_name(host, z.zone)) out.push_back({host, *q, &z, is_helo});
        return out;
    }

    static std::vector<DnsQuestion> questions(const std::vector<Lookup>& l) {
        std::vector<DnsQuestion> q;
        for (const auto& x : l) q.push_back({x.query, proto::DnsType::a});
        return q;
    }

    void on_mail(hooks::Context& ctx, const hooks::AddressArgs& args, hooks::HookCall call) {
        // The transaction's sender is set only after the mail chain: look at the argument.
        if (is_immune(ctx) || args.address.is_null() || zones_.empty()) return call.declined();
        std::vector<DnsQuestion> q;
        for (const auto& z : zones_)
            if (auto n = proto::rhsbl_query_name(args.address.domain_lower(), z.zone)) q.push_back({*n, proto::DnsType::a});
        dns_lookup_all(ctx.dns(), std::move(q), deadline(), [](auto) {});   // warms the cache
        call.declined();
    }

    void on_rcpt(hooks::Context& ctx, const hooks::AddressArgs& args, hooks::HookCall call) {
        if ((proto::iequals(args.address.local, "postmaster") ||
                             proto::iequals(args.address.local, "abuse")))
            return call.declined();
        if (auto why = immunity(ctx); !why.empty()) return call.declined();
        auto* t = ctx.transaction();
        if (!t) return call.declined();
        if (t->notes.count(std::string(kNote))) return decide(ctx, std::move(call));
        auto list = lookups(ctx);
        if (list.empty()) return call.declined();
        auto* c = &ctx;
        dns_lookup_all(ctx.dns(), questions(list), deadline(), [this, c, call, list](auto results) {
            record(*c, list, results);
            decide(*c, call);
        });
    }

    void record(hooks::Context& ctx, const std::vector<Lookup>& list, const std::vector<proto::DnsResult>& results) const {
        auto* t = ctx.transaction();
        if (!t) return;
        std::string result = "clean";
        for (std::size_t i = 0; i < list.size(); ++i) {
            const auto& r = results[i];
            if (dns_failed(r)) {
                ctx.log().warn("rhsbl: {}: {}, accepting", list[i].query, dns_outcome(r));
                if (result == "clean") result = "failed " + list[i].query;
                continue;
            }
            bool listed = false;
            for (const auto& rec : r.records) {
                auto kind = proto::classify_dns_list_answer(rec.value);
                if (kind == proto::DnsListAnswer::refused)
                    ctx.log().warn("rhsbl: {} refused the query ({}), ignored", list[i].zone->zone, rec.value);
                listed = listed || kind == proto::DnsListAnswer::listed;
            }
            if (!listed) continue;
            const auto& l = list[i];
            std::string why = l.zone->message.value_or("is listed in " + l.zone->zone);
            t->notes[std::string(kNote)] = "listed " + l.query;
            t->notes[std::string(kNote) + ".text"] =
                (l.helo ? "Mail from HELO " : "Mail from ") + l.host + " rejected because it " + why;
            return;
        }
        t->notes[std::string(kNote)] = result;
    }

    void decide(hooks::Context& ctx, hooks::HookCall call) const {
        auto* t = ctx.transaction();
        if (!t) return call.declined();
        auto it = t->notes.find(std::string(kNote) + ".text");
        if (it == t->notes.end()) return call.declined();
        call.resolve(policy_.apply(ctx, name(), it->second, t->notes[std::string(kNote)]));
    }

    std::uint64_t deadline() const { return dns_deadline_ms(timeout(), timeout_ms_); }

    RejectPolicy policy_;
    bool check_helo_ = false;
    std::optional<std::uint64_t> timeout_ms_;
    std::vector<proto::DnsListZone> zones_;
};

}  // namespace

std::unique_ptr<hooks::Plugin> make_rhsbl() { return std::make_unique<Rhsbl>(); }

}  // namespace asmtpd::plugins

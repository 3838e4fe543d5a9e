// NAME
//   uribl - look up the hosts and addresses that URIs in the message point at in URI DNS
//   block lists (SURBL, URIBL, Spamhaus DBL), as qpsmtpd's uribl.
// SYNOPSIS
//   uribl [action add-header|deny|denysoft|log] [timeout SECONDS] [check-headers 0|1]
//         [limit NAMES] [max_size BYTES] [public_suffix_list PATH]
//   scan-headers is qpsmtpd's other name of check-headers. Defaults: action add-header
//   (qpsmtpd's), timeout 5 (the whole scan and its lookups; always below the plugin
//   timeout), check-headers 0, limit 20 names a message (each asked in every zone),
//   max_size 1000000 (bytes of the message read; the rest is not scanned), public_suffix_list:
//   libpsl's newest list.
// CONFIG
//   uribl_zones              "zone [mask[,mask...]] [action]" a line (core/proto/uribl_zones:
//                            mask ORed bits of the A record, default 0x00ffffff; the action
//                            overrides the plugin's). A malformed line fails start-up. No
//                            zones: the plugin does nothing.
//   uribl_whitelist_domains  domains never looked up (compared with the Organizational Domain)
// HOOKS
//   data_post: on the thread pool, reads the message from the spool (at most max_size bytes),
//   decodes its text parts with GMime (core/io/mime_text: base64, quoted-printable, nested
//   multiparts and attached messages) and finds the URIs' hosts and IPv4 addresses
//   (core/proto/uri_hosts: scheme URIs with any TLD, bare domains with qpsmtpd's TLD list,
//   qpsmtpd's de-obfuscation); with check-headers 1 the header block is scanned too. Back on
//   the loop, each host is reduced to its Organizational Domain (public suffix + 1 label:
//   www.spam.example.co.uk -> example.co.uk), whitelisted domains are dropped, and up to
//   `limit` names (domains, then reversed addresses) are asked as NAME.ZONE A in every zone,
//   in parallel; a listed name is asked for its TXT record too. For each match, in order:
//   add-header adds "X-URIBL-Match: <name> in <zone>: <TXT or A>", log logs it, deny refuses
//   with that text (552 5.7.1), denysoft defers (452 4.7.1); the first deny or denysoft ends it.
// NOTES
//   transaction "uribl": "clean", "listed <name> in <zone>" (the first match) or "failed
//   <query>" (a lookup failed and nothing was listed).
// FAIL MODES
//   SERVFAIL, timeout: that name counts as not listed, logged. The deadline covers the scan
//   and the lookups: past it the message goes on (logged). A spool that cannot be read: the
//   message goes on unscanned (logged). Answers outside 127.0.0.0/8 and 127.255.255.x (query
//   refused) never match.
// Rules: the pool work reads the spool (read_at, thread-safe after the final dot) and
// touches nothing of the session; the answer touches the transaction only while the chain
// still waits for it.
#include <algorithm>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/io/mime_text.hpp"
#include "core/io/public_suffix.hpp"
#include "core/proto/dns_lists.hpp"
#include "core/proto/plugin_args.hpp"
#include "core/proto/text.hpp"
#include "core/proto/uri_hosts.hpp"
#include "core/proto/uribl_zones.hpp"
#include "hooks/plugin.hpp"
#include "plugins/common/dns_batch.hpp"

namespace asmtpd::plugins {

namespace {

constexpr std::string_view kNote = "uribl";
constexpr std::size_t kMaxFound = 1000;   // distinct names kept from one message's text

struct Settings {
    proto::UriblAction action = proto::UriblAction::AddHeader;
    std::optional<std::uint64_t> timeout_ms;
    bool check_headers = false;
    std::size_t limit = 20;
    std::uint64_t max_size = 1000000;
    std::vector<proto::UriblZone> zones;
    std::set<std::string, std::less<>> whitelist;
    std::shared_ptr<const io::PublicSuffixList> psl;
};

// What the pool finds; read on the loop after the work is done.
struct Scan {
    bool read_ok = true;
    std::size_t bytes = 0, parts = 0;
    proto::UriHosts found;
};

struct Lookup {
    std::string name;   // example.com, or 7.2.0.192
    const proto::UriblZone* zone;
    std::string query;  // name.zone
};

struct Match {
    const Lookup* lookup;
    std::string a;      // the A record that matched
    proto::UriblAction action;
};

void scan_message(const io::Spool& spool, std::uint64_t header_bytes, const Settings& s, Scan& out) {
    const std::uint64_t size = std::min<std::uint64_t>(spool.size(), s.max_size);
    std::string message(static_cast<std::size_t>(size), '\0');
    std::size_t got = 0;
    while (got < message.size()) {
        long n = spool.read_at(got, message.data() + got, message.size() - got);
        if (n <= 0) break;
        got += static_cast<std::size_t>(n);
    }
    if (got < message.size()) {
        out.read_ok = false;
        return;
    }
    out.bytes = got;
    auto mime = io::mime_text_parts(message, message.size());
    out.parts = mime.parts;
    std::string text = std::move(mime.text);
    if (s.check_headers) text += "\n" + message.substr(0, static_cast<std::size_t>(std::min<std::uint64_t>(header_bytes, got)));
    out.found = proto::find_uri_hosts(text, kMaxFound);
}

class Uribl final : public hooks::Plugin {
public:
    std::optional<std::string> init(const hooks::PluginInit& in) override {
        auto s = std::make_shared<Settings>();
        proto::ArgPairs args;
        if (auto e = args.parse(in.line.args, {"action", "timeout", "check-headers", "scan-headers", "limit", "max_size",
                                               "public_suffix_list"}))
            return e;
        if (auto a = args.get("action")) {
            auto act = proto::uribl_action_from_string(*a);
            if (!act) return "action must be add-header, deny, denysoft or log, not '" + *a + "'";
            s->action = *act;
        }
        if (auto t = args.get("timeout")) {
            s->timeout_ms = proto::parse_seconds_ms(*t);
            if (!s->timeout_ms) return "timeout must be seconds, not '" + *t + "'";
        }
        for (auto key : {"check-headers", "scan-headers"}) {
            if (auto v = args.get(key)) {
                if (*v != "0" && *v != "1") return std::string(key) + " must be 0 or 1, not '" + *v + "'";
                s->check_headers = *v == "1";
            }
        }
        if (auto v = args.get("limit")) {
            auto n = proto::parse_count(*v);
            if (!n || *n == 0 || *n > kMaxFound) return "limit must be 1.." + std::to_string(kMaxFound) + ", not '" + *v + "'";
            s->limit = static_cast<std::size_t>(*n);
        }
        if (auto v = args.get("max_size")) {
            auto n = proto::parse_count(*v);
            if (!n || *n == 0 || *n > (std::uint64_t{1} << 30)) return "max_size must be 1..1073741824 bytes, not '" + *v + "'";
            s->max_size = *n;
        }
        std::string error;
        s->zones = proto::parse_uribl_zones(in.config.lines("uribl_zones"), &error);
        if (!error.empty()) return "uribl_zones: " + error;
        for (const auto& w : in.config.lines("uribl_whitelist_domains")) s->whitelist.insert(proto::to_lower(w));
        s->psl = io::PublicSuffixList::load(in.server.path(args.get("public_suffix_list").value_or("")), &error);
        if (!s->psl) return error;
        settings_ = std::move(s);
        return std::nullopt;
    }

    void register_hooks(hooks::Registrar& r) override { r.on<hooks::Hook::DataPost>(&Uribl::on_data_post); }

private:
    void on_data_post(hooks::Context& ctx, const hooks::NoArgs&, hooks::HookCall call) {
        const hooks::Transaction* t = ctx.transaction();
        if (settings_->zones.empty() || !t || !t->body || t->body->failed()) return call.declined();
        auto scan = std::make_shared<Scan>();
        const auto reactor = ctx.reactor();
        const std::uint64_t started = reactor.now_ms();
        reactor.run_in_pool(
            [scan, body = t->body, hb = t->header_bytes, s = settings_] { scan_message(*body, hb, *s, *scan); },
            [scan, call, started, reactor, c = &ctx, life = ctx.lifetime(), s = settings_,
             budget = dns_deadline_ms(timeout(), settings_->timeout_ms)] {
                if (life.expired() || !call.wanted()) return call.declined();
                const std::uint64_t spent = reactor.now_ms() - started;
                if (!scan->read_ok) {
                    c->log().warn("uribl: error, could not read the message; accepted unscanned");
                    return call.declined();
                }
                if (spent >= budget) {
                    c->log().warn("uribl: error, deadline passed while scanning ({} ms); accepted unchecked", spent);
                    return call.declined();
                }
                lookup(*c, call, s, *scan, budget - spent);
            });
    }

    // The names to ask, as described in the header: Organizational Domains, then addresses.
    static std::vector<std::string> names(const io::Log& log, const Settings& s, const Scan& scan) {
        std::vector<std::string> out;
        std::set<std::string> seen;
        for (const auto& h : scan.found.hosts) {
            std::string org = s.psl->organizational_domain(h);
            if (org.find('.') == std::string::npos) continue;   // a bare TLD: nothing registered
            if (s.whitelist.count(org)) {
                log.debug("uribl: skip whitelisted {}", h);
                continue;
            }
            if (seen.insert(org).second) out.push_back(org);
        }
        for (const auto& a : scan.found.ipv4) {
            std::string r = proto::reversed_ipv4(a);
            if (seen.insert(r).second) out.push_back(r);
        }
        if (out.size() > s.limit) {
            log.info("uribl: {} names found, only the first {} looked up", out.size(), s.limit);
            out.resize(s.limit);
        }
        return out;
    }

    static void lookup(hooks::Context& ctx, hooks::HookCall call, const std::shared_ptr<const Settings>& s, const Scan& scan,
                std::uint64_t deadline_ms) {
        auto list = std::make_shared<std::vector<Lookup>>();
        for (const auto& n : names(ctx.log(), *s, scan))
            for (const auto& z : s->zones)
                if (auto q = proto::rhsbl_query_name(n, z.zone)) list->push_back({n, &z, *q});
        ctx.log().info("uribl: {} bytes, {} text parts, {} hosts and {} addresses found, {} lookups", scan.bytes,
                       scan.parts, scan.found.hosts.size(), scan.found.ipv4.size(), list->size());
        if (list->empty()) {
            if (auto* t = ctx.transaction()) t->notes[std::string(kNote)] = "clean";
            return call.declined();
        }
        std::vector<DnsQuestion> q;
        for (const auto& l : *list) q.push_back({l.query, proto::DnsType::a});
        const auto reactor = ctx.reactor();
        const std::uint64_t started = reactor.now_ms();
        dns_lookup_all(ctx.dns(), std::move(q), deadline_ms,
                       [c = &ctx, call, s, list, reactor, started, deadline_ms](std::vector<proto::DnsResult> r) {
                           if (!call.wanted()) return call.declined();
                           auto matches = std::make_shared<std::vector<Match>>(evaluate(*c, *s, *list, r));
                           if (matches->empty()) return call.declined();
                           // The TXT records explain the matches; asked within what is left.
                           const std::uint64_t spent = reactor.now_ms() - started;
                           std::vector<DnsQuestion> txt;
                           for (const auto& m : *matches) txt.push_back({m.lookup->query, proto::DnsType::txt});
                           dns_lookup_all(c->dns(), std::move(txt), std::max<std::uint64_t>(deadline_ms - std::min(spent, deadline_ms), 50),
                                          [c, call, s, list, matches](std::vector<proto::DnsResult> texts) {
                                              if (!call.wanted()) return call.declined();
                                              call.resolve(act(*c, *matches, texts));
                                          });
                       });
    }

    static std::vector<Match> evaluate(hooks::Context& ctx, const Settings& s, const std::vector<Lookup>& list,
                                       const std::vector<proto::DnsResult>& results) {
        std::vector<Match> out;
        std::string failed;
        for (std::size_t i = 0; i < list.size(); ++i) {
            const auto& r = results[i];
            if (dns_failed(r)) {
                ctx.log().warn("uribl: {}: {}, not listed", list[i].query, dns_outcome(r));
                if (failed.empty()) failed = list[i].query;
                continue;
            }
            for (const auto& rec : r.records) {
                if (proto::classify_dns_list_answer(rec.value) == proto::DnsListAnswer::refused)
                    ctx.log().warn("uribl: {} refused the query ({}), ignored", list[i].zone->zone, rec.value);
                if (!proto::uribl_match(rec.value, list[i].zone->mask)) continue;
                out.push_back({&list[i], rec.value, list[i].zone->action.value_or(s.action)});
                break;
            }
        }
        if (auto* t = ctx.transaction()) {
            t->notes[std::string(kNote)] = !out.empty() ? "listed " + out.front().lookup->name + " in " +
                                                              out.front().lookup->zone->zone
                                           : failed.empty() ? "clean"
                                                            : "failed " + failed;
        }
        if (out.empty()) ctx.log().info("uribl: pass, {} lookups, none listed", list.size());
        return out;
    }

    static hooks::Verdict act(hooks::Context& ctx, const std::vector<Match>& matches,
                              const std::vector<proto::DnsResult>& texts) {
        hooks::Transaction* t = ctx.transaction();
        for (std::size_t i = 0; i < matches.size(); ++i) {
            const auto& m = matches[i];
            std::string why = texts[i].status == proto::DnsStatus::answer && !texts[i].records.empty()
                                  ? texts[i].records.front().value
                                  : m.a;
            std::string desc = m.lookup->name + " in " + m.lookup->zone->zone + ": " + why;
            ctx.log().warn("uribl: {}, {}", to_string(m.action), desc);
            switch (m.action) {
            case proto::UriblAction::AddHeader:
                if (t) t->added_headers.push_back("X-URIBL-Match: " + desc);
                break;
            case proto::UriblAction::Log: break;
            case proto::UriblAction::Deny: return hooks::Verdict::deny(desc);
            case proto::UriblAction::DenySoft: return hooks::Verdict::deny_soft(desc);
            }
        }
        return hooks::Verdict::declined();
    }

    std::shared_ptr<const Settings> settings_;
};

}  // namespace

std::unique_ptr<hooks::Plugin> make_uribl() { return std::make_unique<Uribl>(); }

}  // namespace asmtpd::plugins

// NAME
//   dmarc - DMARC (RFC 7489) for the RFC5322.From domain: policy discovery, SPF and DKIM
//   identifier alignment, p / sp / pct, and the disposition (qpsmtpd's dmarc plugin).
// SYNOPSIS
//   dmarc [reject 0|1|naughty] [reject_type perm|temp|disconnect|temp_disconnect]
//         [timeout SECONDS] [public_suffix_list FILE] [sample_seed N]
//   defaults (qpsmtpd's): reject 1, reject_type perm; timeout 5 (the record lookups'
//   deadline, always at least 250 ms below the plugin timeout); public_suffix_list: libpsl's
//   newest list (Debian's publicsuffix package, or libpsl's built-in one); sample_seed: the
//   pct draw is random; a seed makes it repeatable (tests).
//   List it after sender_permitted_from and dkim (it reads their notes at data_post_headers)
//   and before the Authentication-Results writer (which reads its note).
// HOOKS
//   data: relay clients and authenticated users are not evaluated (their mail is ours, as
//     qpsmtpd skips relay clients); otherwise attaches a DmarcObserver that keeps the header
//     block.
//   data_post_headers: the Author Domains of the From field (core/proto/from_header), then
//     TXT _dmarc.<domain>, and when that holds no DMARC record, _dmarc.<organizational
//     domain> (public suffix list, core/io/public_suffix); SPF from the transaction note
//     "spf" (a pass for the MAIL FROM domain, or the HELO name for <>), DKIM from
//     "dkim_results" (a pass whose d= aligns); core/proto/dmarc_policy decides. Several
//     domains in one From are each evaluated and the strictest failing one decides (RFC 7489
//     §6.6.1). Writes the note, the log line, and for a quarantine disposition the header
//     "X-DMARC-Quarantine: <note>".
//   data_post: the refusal decided at data_post_headers, through the reject policy.
// DECISIONS
//   reject disposition        550 5.7.1 "Failed DMARC policy of DOMAIN" (451 4.7.1 with a
//                             temporary reject_type); reject 0 lowers it to quarantine
//                             (override local_policy); naughty defers it to the naughty plugin.
//   no From, several From fields, an unparseable From or one without an address, a header
//                             block over 1 MB: permerror, refused as a reject disposition
//                             ("550 5.7.1 ..." with the reason; qpsmtpd refuses the same) -
//                             a message DMARC cannot attribute must not slip through.
//   temperror (DNS failure or timeout on the record, or an aligned DKIM/SPF temperror and
//                             nothing passed): accepted, unless reject_type is temp or
//                             temp_disconnect: then 451 4.7.1, so the sender retries.
//   no record, invalid record, several records: none / permerror, accepted.
//   whitelisted sources: a host the whitelist plugin marked ("whitelisthost",
//                             "whitelistclient") is a trusted_forwarder, a whitelisted envelope
//                             sender ("whitelistsender": a mailing list's bounce address) a
//                             mailing_list: evaluated and noted, never refused, deferred or
//                             quarantined (not for a From problem either).
// NOTES (transaction)
//   "dmarc": plugins/common/dmarc_note.hpp (the RFC 8601 result for Authentication-Results).
// LOG
//   One line per evaluated message with what an aggregate report needs, e.g.
//   dmarc: fail header_from=example.com envelope_from=other.org source_ip=192.0.2.1
//     policy_domain=example.com p=reject sp=reject pct=100 adkim=r aspf=r
//     spf=pass/other.org dkim=fail/example.com aligned=none disposition=reject override=none
#include <algorithm>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "core/io/public_suffix.hpp"
#include "core/proto/dmarc_policy.hpp"
#include "core/proto/dmarc_record.hpp"
#include "core/proto/plugin_args.hpp"
#include "core/proto/spf_header.hpp"
#include "hooks/plugin.hpp"
#include "plugins/common/dkim_note.hpp"
#include "plugins/common/dmarc_note.hpp"
#include "plugins/common/dns_batch.hpp"
#include "plugins/common/immunity.hpp"
#include "plugins/common/reject_policy.hpp"
#include "plugins/dmarc/dmarc_observer.hpp"

namespace asmtpd::plugins {

namespace {

namespace dm = proto::dmarc;
using dmarc::DmarcObserver;
using dmarc::Refusal;

constexpr std::size_t kMaxAuthorDomains = 5;   // a From with more domains: the first five
constexpr std::string_view kQuarantineHeader = "X-DMARC-Quarantine";

bool noted(const hooks::Notes& n, std::string_view key) {
    auto it = n.find(key);
    return it != n.end() && !it->second.empty() && it->second != "0";
}

// What the whitelist plugin said about this source (see the file comment).
dm::Override whitelist_override(hooks::Context& ctx) {
    if (noted(ctx.notes(), kWhitelistHostNote) || noted(ctx.notes(), "whitelistclient")) return dm::Override::TrustedForwarder;
    if (auto* t = ctx.transaction(); t && noted(t->notes, kWhitelistSenderNote)) return dm::Override::MailingList;
    return dm::Override::None;
}

// One Author Domain on its way through policy discovery.
struct Domain {
    std::string name, org;
    dm::Lookup lookup = dm::Lookup::Absent;
    std::optional<dm::Record> record;
    std::string policy_domain;   // where the record was found
    std::string problem;         // why Invalid / TempFail
};

// Classifies one _dmarc answer; true when the discovery must go on at the org domain.
bool classify(Domain& d, const proto::DnsResult& r, const std::string& at) {
    if (dns_failed(r)) {
        d.lookup = dm::Lookup::TempFail;
        d.problem = "_dmarc." + at + ": " + dns_outcome(r);
        return false;
    }
    std::vector<std::string> txts;
    if (dns_found(r))
        for (const auto& rec : r.records) txts.push_back(rec.value);
    dm::ParsedRecord p = dm::select_record(txts);
    if (p.status == dm::RecordStatus::NotDmarc) return true;
    d.policy_domain = at;
    if (p.status == dm::RecordStatus::Invalid) {
        d.lookup = dm::Lookup::Invalid;
        d.problem = "_dmarc." + at + ": " + p.error;
        return false;
    }
    d.lookup = dm::Lookup::Found;
    d.record = std::move(p.record);
    return false;
}

// Everything one message's evaluation needs after the plugin object (a reload may replace
// it): copied at data_post_headers.
struct Run {
    hooks::Context* ctx;
    hooks::HookCall call;
    std::weak_ptr<const void> alive;
    std::shared_ptr<DmarcObserver> seen;
    std::shared_ptr<const io::PublicSuffixList> psl;
    std::vector<Domain> domains;
    std::uint64_t deadline_ms = 5000;
    unsigned draw = 0;
    bool may_reject = true;
};

std::string auth_list(const std::vector<dm::AuthResult>& list) {
    std::string out;
    for (const auto& a : list) out += (out.empty() ? "" : ",") + a.result + "/" + a.domain;
    return out.empty() ? "none" : out;
}

class Dmarc final : public hooks::Plugin {
public:
    std::optional<std::string> init(const hooks::PluginInit& in) override {
        policy_.mode = RejectPolicy::Mode::reject;
        policy_.type = hooks::Result::Deny;
        proto::ArgPairs args;
        if (auto e = read_policy_args(in.line.args, {"reject", "reject_type", "timeout", "public_suffix_list", "sample_seed"},
                                      args, policy_, timeout_ms_))
            return e;
        std::string error;
        psl_ = io::PublicSuffixList::load(in.server.path(args.get("public_suffix_list").value_or("")), &error);
        if (!psl_) return error;
        std::random_device device;
        std::uint64_t seed = (std::uint64_t(device()) << 32) | device();
        if (auto s = args.get("sample_seed")) {
            auto n = proto::parse_count(*s);
            if (!n) return "sample_seed must be a number, not '" + *s + "'";
            seed = *n;
        }
        random_ = std::make_shared<Random>(seed);
        return std::nullopt;
    }

    void register_hooks(hooks::Registrar& r) override {
        r.on<hooks::Hook::Data>(&Dmarc::on_data);
        r.on<hooks::Hook::DataPostHeaders>(&Dmarc::on_data_post_headers);
        r.on<hooks::Hook::DataPost>(&Dmarc::on_data_post);
    }

private:
    struct Random {
        explicit Random(std::uint64_t seed) : engine(seed) {}
        std::mutex mutex;   // one plugin object serves every worker thread
        std::mt19937_64 engine;
        unsigned draw() {
            std::lock_guard lock(mutex);
            return unsigned(std::uniform_int_distribution<unsigned>(0, 99)(engine));
        }
    };

    void on_data(hooks::Context& ctx, const hooks::NoArgs&, hooks::HookCall call) {
        auto* txn = ctx.transaction();
        if (!txn) return call.declined();
        const auto& c = ctx.connection();
        if (c.relay_client || !c.auth_user.empty()) {
            ctx.log().info("dmarc: skip, {}", c.relay_client ? "relay client" : "authenticated");
            return call.declined();
        }
        txn->body_observers.push_back(std::make_shared<DmarcObserver>(name()));
        call.declined();
    }

    std::shared_ptr<DmarcObserver> observer(hooks::Transaction& txn) const {
        for (const auto& o : txn.body_observers)
            if (auto d = std::dynamic_pointer_cast<DmarcObserver>(o); d && d->owner() == name()) return d;
        return nullptr;
    }

    void on_data_post_headers(hooks::Context& ctx, const hooks::NoArgs&, hooks::HookCall call) {
        auto* txn = ctx.transaction();
        auto seen = txn ? observer(*txn) : nullptr;
        if (!seen || !seen->ended()) return call.declined();
        const proto::Authors& authors = seen->authors();
        if (seen->too_large() || authors.problem != proto::AuthorProblem::None) {
            std::string why = seen->too_large() ? "header block too large" : std::string(proto::to_string(authors.problem));
            DmarcNote note;
            note.result = dm::Result::PermError;
            note.reason = why;
            txn->notes[std::string(kDmarcNote)] = format_dmarc_note(note);
            const dm::Override trusted = whitelist_override(ctx);
            ctx.log().info("dmarc: permerror ({}{}{}) envelope_from={} source_ip={} override={}", why,
                           authors.detail.empty() ? "" : ": ", authors.detail, envelope_domain(ctx),
                           ctx.connection().remote_ip, dm::to_string(trusted));
            if (trusted == dm::Override::None)
                seen->refusal = Refusal{false, "Message refused: " + why + " (DMARC)", why};
            return call.declined();
        }
        auto run = std::make_shared<Run>();
        run->ctx = &ctx;
        run->call = std::move(call);
        run->alive = ctx.lifetime();
        run->seen = seen;
        run->psl = psl_;
        run->deadline_ms = dns_deadline_ms(timeout(), timeout_ms_);
        run->draw = random_->draw();
        run->may_reject = policy_.mode != RejectPolicy::Mode::log_only;
        for (const auto& name : authors.domains) {
            if (run->domains.size() == kMaxAuthorDomains) break;
            Domain d;
            d.name = name;
            d.org = psl_->organizational_domain(name);
            run->domains.push_back(std::move(d));
        }
        std::vector<DnsQuestion> questions;
        for (const auto& d : run->domains) questions.push_back({"_dmarc." + d.name, proto::DnsType::txt});
        dns_lookup_all(ctx.dns(), std::move(questions), run->deadline_ms, [run](std::vector<proto::DnsResult> answers) {
            if (run->alive.expired() || !run->call.wanted()) return;
            std::vector<std::size_t> further;
            for (std::size_t i = 0; i < run->domains.size(); ++i) {
                Domain& d = run->domains[i];
                if (classify(d, answers[i], d.name) && d.org != d.name) further.push_back(i);
            }
            std::vector<DnsQuestion> org_questions;
            for (auto i : further) org_questions.push_back({"_dmarc." + run->domains[i].org, proto::DnsType::txt});
            dns_lookup_all(run->ctx->dns(), std::move(org_questions), run->deadline_ms,
                           [run, further](std::vector<proto::DnsResult> org_answers) {
                               if (run->alive.expired() || !run->call.wanted()) return;
                               for (std::size_t k = 0; k < further.size(); ++k) {
                                   Domain& d = run->domains[further[k]];
                                   classify(d, org_answers[k], d.org);
                               }
                               finish(*run);
                           });
        });
    }

    static std::string envelope_domain(hooks::Context& ctx) {
        auto* t = ctx.transaction();
        if (!t || !t->sender || t->sender->is_null()) return "<>";
        return t->sender->domain_lower();
    }

    static void finish(Run& run) {
        hooks::Context& ctx = *run.ctx;
        auto* txn = ctx.transaction();
        if (!txn) return run.call.declined();
        std::vector<dm::AuthResult> dkim;
        for (const auto& e : parse_dkim_results_note(txn->notes[std::string(kDkimResultsNote)]))
            if (!e.domain.empty()) dkim.push_back({e.domain, e.result});
        std::optional<dm::AuthResult> spf;
        if (auto it = txn->notes.find("spf"); it != txn->notes.end())
            if (auto n = proto::spf::parse_spf_note(it->second))
                spf = dm::AuthResult{n->domain, std::string(proto::spf::to_string(n->result))};
        const dm::Override trusted = whitelist_override(ctx);
        const dm::OrgDomainFn org = [psl = run.psl](std::string_view d) { return psl->organizational_domain(d); };

        std::vector<dm::Evaluation> all;
        for (const Domain& d : run.domains) {
            dm::Input in;
            in.author_domain = d.name;
// GCC 12 at -O2 believes Domain::lookup (default-initialized) may be uninitialized here: a
// false positive of its std::optional<Record> copy analysis, and a release-build error.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
            in.lookup = d.lookup;
#pragma GCC diagnostic pop
            in.record = d.record;
            in.record_at_org = d.lookup == dm::Lookup::Found && d.policy_domain != d.name;
            in.dkim = dkim;
            in.spf = spf;
            in.draw = run.draw;
            in.trusted = trusted;
            in.may_reject = run.may_reject;
            all.push_back(dm::evaluate(in, org));
        }
        const std::size_t pick = dm::decisive(all);
        const dm::Evaluation& e = all[pick];
        const Domain& d = run.domains[pick];

        DmarcNote note;
        note.result = e.result;
        note.header_from = d.name;
        if (d.record && e.requested) {
            note.p = d.record->p;
            note.sp = d.record->subdomain_policy();
            note.disposition = e.disposition;
            note.override = e.override;
        }
        const std::string text = format_dmarc_note(note);
        txn->notes[std::string(kDmarcNote)] = text;
        if (e.disposition == dm::Policy::Quarantine) txn->added_headers.push_back(std::string(kQuarantineHeader) + ": " + text);

        std::string policy = "policy_domain=-";
        if (d.record)
            policy = "policy_domain=" + d.policy_domain + " p=" + std::string(dm::to_string(d.record->p)) +
                     " sp=" + std::string(dm::to_string(d.record->subdomain_policy())) +
                     " pct=" + std::to_string(d.record->pct) +
                     " adkim=" + (d.record->adkim == dm::Alignment::Strict ? "s" : "r") +
                     " aspf=" + (d.record->aspf == dm::Alignment::Strict ? "s" : "r");
        const char* aligned = e.dkim_aligned && e.spf_aligned ? "dkim,spf" : e.dkim_aligned ? "dkim" : e.spf_aligned ? "spf" : "none";
        ctx.log().info("dmarc: {} header_from={} envelope_from={} source_ip={} {} spf={} dkim={} aligned={} "
                       "disposition={} override={}{}{}",
                       dm::to_string(e.result), d.name, envelope_domain(ctx), ctx.connection().remote_ip, policy,
                       spf ? spf->result + "/" + spf->domain : std::string("none"), auth_list(dkim), aligned,
                       dm::to_string(e.disposition), dm::to_string(e.override), d.problem.empty() ? "" : " problem=",
                       d.problem);

        auto* seen = run.seen.get();
        if (e.disposition == dm::Policy::Reject)
            seen->refusal = Refusal{false, "Failed DMARC policy of " + d.name, "policy of " + d.name + " says reject"};
        else if (e.result == dm::Result::TempError && trusted == dm::Override::None)
            seen->refusal = Refusal{true, "Temporary DMARC failure for " + d.name + ", try again later",
                                    "temperror for " + d.name};
        run.call.declined();
    }

    void on_data_post(hooks::Context& ctx, const hooks::NoArgs&, hooks::HookCall call) {
        auto* txn = ctx.transaction();
        auto seen = txn ? observer(*txn) : nullptr;
        if (!seen || !seen->refusal) return call.declined();
        const Refusal& r = *seen->refusal;
        const bool defers = policy_.type == hooks::Result::DenySoft || policy_.type == hooks::Result::DenySoftDisconnect;
        if (r.temporary && !defers) return call.declined();   // a DNS problem is never a permanent refusal
        hooks::Verdict v = policy_.apply(ctx, "dmarc", r.reply, r.log);
        if (v.result != hooks::Result::Declined)
            v.reply = proto::Reply::make(defers ? 451 : 550, defers ? "4.7.1" : "5.7.1", v.text);
        call.resolve(std::move(v));
    }

    RejectPolicy policy_;
    std::optional<std::uint64_t> timeout_ms_;
    std::shared_ptr<const io::PublicSuffixList> psl_;
    std::shared_ptr<Random> random_;
};

}  // namespace

std::unique_ptr<hooks::Plugin> make_dmarc() { return std::make_unique<Dmarc>(); }

}  // namespace asmtpd::plugins

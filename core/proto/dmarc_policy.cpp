// dmarc_policy.cpp - alignment, the mechanism check and the disposition. See dmarc_policy.hpp.
#include "core/proto/dmarc_policy.hpp"

#include "core/proto/text.hpp"

namespace asmtpd::proto::dmarc {

namespace {

std::string normal(std::string_view d) {
    if (!d.empty() && d.back() == '.') d.remove_suffix(1);
    return to_lower(d);
}

int strictness(Policy p) { return p == Policy::Reject ? 2 : p == Policy::Quarantine ? 1 : 0; }

Policy weaker(Policy p) { return p == Policy::Reject ? Policy::Quarantine : Policy::None; }

}  // namespace

bool aligned(std::string_view identifier, std::string_view author, Alignment mode, const OrgDomainFn& org) {
    const std::string id = normal(identifier), from = normal(author);
    if (id.empty() || from.empty()) return false;
    if (id == from) return true;
    if (mode == Alignment::Strict) return false;
    return normal(org(id)) == normal(org(from));
}

Evaluation evaluate(const Input& in, const OrgDomainFn& org) {
    Evaluation e;
    switch (in.lookup) {
        case Lookup::Absent: e.result = Result::None; return e;
        case Lookup::Invalid: e.result = Result::PermError; return e;
        case Lookup::TempFail: e.result = Result::TempError; return e;
        case Lookup::Found: break;
    }
    if (!in.record) {
        e.result = Result::PermError;
        return e;
    }
    const Record& r = *in.record;
    bool temporary = false;
    for (const auto& d : in.dkim) {
        if (!aligned(d.domain, in.author_domain, r.adkim, org)) continue;
        if (d.result == "pass") {
            e.dkim_aligned = true;
            e.dkim_domain = normal(d.domain);
            break;
        }
        temporary = temporary || d.result == "temperror";
    }
    if (in.spf && aligned(in.spf->domain, in.author_domain, r.aspf, org)) {
        e.spf_aligned = in.spf->result == "pass";
        temporary = temporary || in.spf->result == "temperror";
    }
    const bool subdomain = in.record_at_org && normal(org(in.author_domain)) != normal(in.author_domain);
    e.requested = subdomain ? r.subdomain_policy() : r.p;
    if (e.dkim_aligned || e.spf_aligned) {
        e.result = Result::Pass;
        return e;
    }
    if (temporary) {
        e.result = Result::TempError;
        return e;
    }
    e.result = Result::Fail;
    e.disposition = *e.requested;
    if (e.disposition == Policy::None) return e;
    if (in.draw >= r.pct) {
        e.disposition = weaker(e.disposition);
        e.override = Override::SampledOut;
    }
    if (e.disposition != Policy::None && in.trusted != Override::None) {
        e.disposition = Policy::None;
        e.override = in.trusted;
    }
    if (e.disposition == Policy::Reject && !in.may_reject) {
        e.disposition = Policy::Quarantine;
        e.override = Override::LocalPolicy;
    }
    return e;
}

std::size_t decisive(const std::vector<Evaluation>& all) {
    auto rank = [](const Evaluation& e) {
        switch (e.result) {
            case Result::Fail:
                return 100 + 10 * strictness(e.disposition) + strictness(e.requested.value_or(Policy::None));
            case Result::TempError: return 4;
            case Result::PermError: return 3;
            case Result::Pass: return 2;
            case Result::None: return 1;
        }
        return 0;
    };
    std::size_t best = 0;
    for (std::size_t i = 1; i < all.size(); ++i)
        if (rank(all[i]) > rank(all[best])) best = i;
    return best;
}

std::string_view to_string(Result r) {
    switch (r) {
        case Result::None: return "none";
        case Result::Pass: return "pass";
        case Result::Fail: return "fail";
        case Result::TempError: return "temperror";
        case Result::PermError: return "permerror";
    }
    return "none";
}

std::string_view to_string(Override o) {
    switch (o) {
        case Override::None: return "none";
        case Override::Forwarded: return "forwarded";
        case Override::SampledOut: return "sampled_out";
        case Override::TrustedForwarder: return "trusted_forwarder";
        case Override::MailingList: return "mailing_list";
        case Override::LocalPolicy: return "local_policy";
        case Override::Other: return "other";
    }
    return "other";
}

}  // namespace asmtpd::proto::dmarc

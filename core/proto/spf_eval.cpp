// spf_eval.cpp - check_host() (RFC 7208 §4), record selection, redirect=, exp= and the
// Evaluator driver. Mechanism matching is in spf_mechanisms.cpp.
#include "core/proto/spf_eval.hpp"

#include <algorithm>
#include <utility>

#include "core/proto/spf_checker.hpp"
#include "core/proto/text.hpp"

namespace asmtpd::proto::spf {

std::string_view to_string(QType t) {
    switch (t) {
        case QType::A: return "A";
        case QType::AAAA: return "AAAA";
        case QType::MX: return "MX";
        case QType::TXT: return "TXT";
        case QType::PTR: return "PTR";
    }
    return "TXT";
}

std::string_view to_string(Identity i) { return i == Identity::Helo ? "helo" : "mailfrom"; }

std::string lower_no_dot(std::string_view name) {
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    return to_lower(name);
}

bool valid_query_name(std::string_view name) {
    if (name.empty() || name.size() > 253) return false;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= name.size(); ++i) {
        if (i < name.size() && name[i] != '.') continue;
        std::size_t len = i - start;
        if (len == 0 || len > 63) return false;
        start = i + 1;
    }
    return true;
}

bool is_temp_error(const DnsAnswer& a) {
    return a.status == DnsStatus::ServFail || a.status == DnsStatus::Timeout;
}

bool is_void(const DnsAnswer& a) {
    return a.status == DnsStatus::NxDomain || a.status == DnsStatus::NoData ||
           (a.status == DnsStatus::Answer && a.records.empty());
}

namespace {

// §4.3: a multi-label domain of LDH labels (underscores allowed); anything else is "none".
bool valid_initial_domain(std::string_view d) {
    if (!valid_query_name(d) || d.find('.') == std::string_view::npos) return false;
    return std::all_of(d.begin(), d.end(), [](char c) { return is_alnum(c) || c == '-' || c == '_' || c == '.'; });
}

}  // namespace

Checker::Checker(Request r) : req_(std::move(r)) {
    ip_ = parse_ip(req_.ip);
    macros_.ip_dotted = ip_ ? dotted_ip(req_.ip) : req_.ip;
    macros_.ip_readable = ip_ ? ip_->to_string() : req_.ip;
    macros_.ipv6 = ip_ && !ip_->is_v4();
    macros_.helo = req_.helo;
    macros_.receiver = req_.receiver;
    macros_.timestamp = std::to_string(req_.now);
}

Checker::Ask Checker::ask(std::string name, QType t) {
    name = lower_no_dot(name);
    if (!valid_query_name(name)) return Ask{this, {}, DnsAnswer::status_only(DnsStatus::NxDomain)};
    ++queries_;
    return Ask{this, Query{std::move(name), t}, std::nullopt};
}

Task<Outcome> Checker::run() {
    Outcome out;
    out.identity = req_.identity;
    std::string sender = req_.identity == Identity::MailFrom ? req_.sender : std::string();
    if (sender.empty()) {   // HELO identity, or the null reverse-path (§2.3, §2.4)
        out.identity = Identity::Helo;
        sender = "postmaster@" + req_.helo;
    }
    std::size_t at = sender.rfind('@');
    std::string local = at == std::string::npos ? std::string() : sender.substr(0, at);
    std::string domain = at == std::string::npos ? sender : sender.substr(at + 1);
    if (local.empty()) local = "postmaster";   // §4.3
    macros_.sender = local + "@" + domain;
    macros_.local_part = local;
    macros_.sender_domain = domain;
    out.sender = macros_.sender;
    out.domain = lower_no_dot(domain);
    if (!ip_) {
        out.result = Result::PermError;
        out.problem = "client address '" + req_.ip + "' is not an IP address";
        co_return out;
    }
    if (!valid_initial_domain(out.domain)) {
        out.result = Result::None;
        out.problem = "'" + domain + "' is not a multi-label domain name";
        co_return out;
    }
    HostResult r = co_await check_host(out.domain);
    out.result = r.result;
    out.mechanism = r.mechanism;
    out.problem = r.problem;
    if (r.result == Result::Fail) out.explanation = co_await explanation(r);
    out.lookups = lookups_;
    out.void_lookups = voids_;
    out.queries = queries_;
    co_return out;
}

Task<HostResult> Checker::check_host(std::string domain) {
    HostResult out;
    DnsAnswer txt = co_await ask(domain, QType::TXT);
    if (is_temp_error(txt)) {
        out.result = Result::TempError;
        out.problem = "DNS error looking up the SPF record of " + domain;
        co_return out;
    }
    std::vector<std::string> spf;
    for (auto& t : txt.records)
        if (is_spf_record(t)) spf.push_back(t);
    if (spf.empty()) {
        out.result = Result::None;
        out.problem = "no SPF record at " + domain;
        co_return out;
    }
    if (spf.size() > 1) {
        out.result = Result::PermError;
        out.problem = "more than one SPF record at " + domain;
        co_return out;
    }
    ParsedRecord parsed = parse_record(spf.front());
    if (!parsed.record) {
        out.result = Result::PermError;
        out.problem = "SPF record of " + domain + ": " + parsed.error;
        co_return out;
    }
    const Record rec = std::move(*parsed.record);
    for (const Directive& d : rec.directives) {
        Match m = co_await match(d, domain);
        if (m.error) {
            out.result = *m.error;
            out.problem = m.problem;
            co_return out;
        }
        if (m.matched) {
            out.result = d.qualifier;
            out.mechanism = d.text;
            out.exp = rec.exp;
            out.exp_domain = domain;
            co_return out;
        }
    }
    if (rec.redirect) {   // §6.1: only when no mechanism matched
        if (!count_term()) {
            out.result = Result::PermError;
            out.problem = Match::too_many_terms().problem;
            co_return out;
        }
        std::optional<std::string> target = co_await expand(*rec.redirect, MacroUse::DomainSpec, domain);
        // (no conditional expression inside co_await: GCC 12 double-destroys its temporary)
        std::string where = target ? *target : std::string();
        HostResult r = co_await check_host(where);
        if (r.result == Result::None) {
            r.result = Result::PermError;
            r.problem = "redirect=" + *rec.redirect + " has no SPF record";
        }
        co_return r;
    }
    out.result = Result::Neutral;   // §4.7: no match, no redirect
    out.mechanism = "default";
    out.exp = rec.exp;
    out.exp_domain = domain;
    co_return out;
}

Task<std::optional<std::string>> Checker::expand(std::string spec, MacroUse use, std::string domain) {
    macros_.domain = domain;
    if (uses_validated_name(spec)) {
        co_await validate_names();   // errors leave the name "unknown" (§7.3)
        const auto& names = *names_;
        std::string sub = "." + domain;
        auto exact = std::find(names.begin(), names.end(), domain);
        auto below = std::find_if(names.begin(), names.end(), [&](const std::string& n) {
            return n.size() > sub.size() && n.compare(n.size() - sub.size(), sub.size(), sub) == 0;
        });
        macros_.validated = exact != names.end() ? *exact
                            : below != names.end() ? *below
                            : names.empty() ? "unknown" : names.front();
    }
    macros_.domain = domain;   // validate_names() may not change it, but be explicit
    co_return expand_macros(spec, use, macros_);
}

Task<std::string> Checker::explanation(const HostResult& r) {
    // §6.2: any problem with exp= means "as if there were none".
    if (!r.exp) co_return std::string();
    std::optional<std::string> target = co_await expand(*r.exp, MacroUse::DomainSpec, r.exp_domain);
    if (!target || target->empty()) co_return std::string();
    DnsAnswer a = co_await ask(*target, QType::TXT);
    if (a.status != DnsStatus::Answer || a.records.size() != 1) co_return std::string();
    std::optional<std::string> text = co_await expand(a.records.front(), MacroUse::Explanation, r.exp_domain);
    if (!text) co_return std::string();
    co_return *text;
}

Evaluator::Evaluator(Request r) : checker_(std::make_unique<Checker>(std::move(r))) {}
Evaluator::~Evaluator() = default;

namespace {
Step next_step(Checker& c) {
    if (c.top.done()) return Step{std::nullopt, c.top.result()};
    return Step{c.pending_, std::nullopt};
}
}  // namespace

Step Evaluator::start() {
    checker_->top = checker_->run();
    checker_->top.start();
    return next_step(*checker_);
}

Step Evaluator::resume(DnsAnswer answer) {
    if (!checker_->waiting_) return next_step(*checker_);
    checker_->answer_ = std::move(answer);
    checker_->pending_.reset();
    std::exchange(checker_->waiting_, {}).resume();
    return next_step(*checker_);
}

Outcome evaluate(Request r, const std::function<DnsAnswer(const Query&)>& dns) {
    Evaluator ev(std::move(r));
    Step s = ev.start();
    while (!s.outcome) s = ev.resume(dns(*s.query));
    return *s.outcome;
}

}  // namespace asmtpd::proto::spf

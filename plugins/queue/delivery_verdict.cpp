// delivery_verdict.cpp - DeliveryReport -> Verdict rules shared by the SMTP and LMTP queue
// plugins (see the header). Pure: no I/O, no logging.
#include "plugins/queue/delivery_verdict.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace asmtpd::plugins {

namespace {

constexpr std::size_t kMaxPassedLines = 8;

}  // namespace

hooks::Verdict soft_failure(std::string_view why) {
    std::string text = "Temporary failure forwarding the message: " + std::string(why);
    return {hooks::Result::DenySoft, text, proto::Reply::make(451, "4.3.0", text)};
}

hooks::Verdict pass_refusal(const proto::Reply& r) {
    if (!r.permanent()) return soft_failure("next hop said " + r.summary());
    proto::Reply out;
    out.code = r.code;
    out.esc = proto::esc_matches(r.esc, r.code) ? r.esc : "5.0.0";
    const std::size_t n = std::min(r.lines.size(), kMaxPassedLines);
    out.lines.assign(r.lines.begin(), r.lines.begin() + static_cast<std::ptrdiff_t>(n));
    if (out.lines.empty()) out.lines.emplace_back();
    std::string text;
    for (std::size_t i = 0; i < out.lines.size(); ++i) text += (i ? "\n" : "") + out.lines[i];
    return {hooks::Result::Deny, text, out};
}

std::optional<hooks::Verdict> verdict_before_final(const client::DeliveryReport& r) {
    if (r.failure == client::Failure::Loop) {
        // RFC 3463 X.4.6 "routing loop detected"; temporary, as Postfix defers it: the
        // configuration (or the DNS) is wrong, and fixing it must not need a resend.
        const std::string text = "Mail loops back to me (the next hop has my host name)";
        return hooks::Verdict{hooks::Result::DenySoft, text, proto::Reply::make(451, "4.4.6", text)};
    }
    if (r.failure == client::Failure::Tls || r.failure == client::Failure::Auth) {
        // RFC 3463 X.7.5 "cryptographic failure"; RFC 4954 §6's 4.7.0 for a temporary AUTH
        // failure. Temporary both: the operator fixes the next hop or our configuration.
        const bool tls = r.failure == client::Failure::Tls;
        std::string text = "Temporary failure forwarding the message: " + std::string(client::to_string(r.failure));
        if (r.refusal) text += " (" + r.refusal->summary() + ")";
        return hooks::Verdict{hooks::Result::DenySoft, text, proto::Reply::make(451, tls ? "4.7.5" : "4.7.0", text)};
    }
    if (r.failure != client::Failure::None || !r.error.empty()) {
        std::string why(client::to_string(r.failure == client::Failure::None ? client::Failure::Local : r.failure));
        if (r.refusal) why += " (" + r.refusal->summary() + ")";
        return soft_failure(why);
    }
    switch (r.stage) {
        case client::Stage::Connect:
        case client::Stage::Greeting:
        case client::Stage::Hello:
            // Postfix's smtp_skip_5xx_greeting does the same: a next hop that will not talk
            // to us is a configuration or capacity problem, never this message's fault.
            return soft_failure("next hop refused the connection" +
                                (r.refusal ? " (" + r.refusal->summary() + ")" : std::string()));
        case client::Stage::Mail:
        case client::Stage::Data:
            if (r.refusal) return pass_refusal(*r.refusal);
            return soft_failure("next hop protocol error");
        case client::Stage::Rcpt: {
            if (r.rcpt_replies.empty()) return soft_failure("next hop protocol error");
            const bool all_permanent = std::all_of(r.rcpt_replies.begin(), r.rcpt_replies.end(),
                                                   [](const proto::Reply& x) { return x.permanent(); });
            if (all_permanent) return pass_refusal(r.rcpt_replies.front());
            for (const auto& x : r.rcpt_replies)
                if (x.klass() != 2) return soft_failure("next hop refused a recipient (" + x.summary() + ")");
            return soft_failure("next hop protocol error");
        }
        case client::Stage::Body:
        case client::Stage::DataEnd:
            return soft_failure("next hop protocol error");
        case client::Stage::Done:
            return std::nullopt;
    }
    return soft_failure("internal error");
}

hooks::Verdict route_failure(const client::Route& route, std::string_view domain) {
    using S = client::Route::Status;
    const std::string d(domain);
    auto verdict = [](hooks::Result res, int code, const char* esc, std::string text) {
        return hooks::Verdict{res, text, proto::Reply::make(code, esc, text)};
    };
    if (!d.empty() && route.status == S::NullMx)
        return verdict(hooks::Result::Deny, 556, "5.1.10", "Recipient domain " + d + " does not accept mail (null MX)");
    if (!d.empty() && route.status == S::NoRoute)
        return verdict(hooks::Result::Deny, 550, "5.4.4", "Unable to route mail to " + d + ": " + route.why);
    return verdict(hooks::Result::DenySoft, 451, "4.4.3",
                   "Temporary failure in DNS lookup of " + (d.empty() ? std::string("the next hop") : d));
}

hooks::Verdict combine_domains(const std::vector<DomainVerdict>& tried, std::size_t total, const std::string& id) {
    if (tried.empty()) return soft_failure("internal error");
    const auto failed = std::find_if(tried.begin(), tried.end(),
                                     [](const DomainVerdict& d) { return d.verdict.result != hooks::Result::Ok; });
    if (failed == tried.end()) {
        if (tried.size() < total) return soft_failure("internal error");   // never OK for an untried domain
        if (tried.size() == 1) return tried.front().verdict;
        return hooks::Verdict::ok(fmt::format("Queued as {} ({} recipient domains)", id, tried.size()));
    }
    if (failed == tried.begin()) return failed->verdict;
    return soft_failure("not delivered for recipient domain " + failed->domain);
}

std::string describe(const client::DeliveryReport& r) {
    std::string out = fmt::format("stage {}", client::to_string(r.stage));
    if (!r.error.empty()) out += fmt::format(", {}: {}", client::to_string(r.failure), r.error);
    if (r.refusal) out += ", reply " + r.refusal->summary();
    if (!r.rcpt_replies.empty()) {
        out += ", rcpt [";
        for (std::size_t i = 0; i < r.rcpt_replies.size(); ++i) out += (i ? "; " : "") + r.rcpt_replies[i].summary();
        out += "]";
    }
    if (!r.final_replies.empty()) {
        out += ", final [";
        for (std::size_t i = 0; i < r.final_replies.size(); ++i) out += (i ? "; " : "") + r.final_replies[i].summary();
        out += "]";
    }
    if (r.dot_sent && !r.complete()) out += " (the dot was sent: the next hop may hold a copy)";
    return out;
}

}  // namespace asmtpd::plugins

// dmarc_policy.hpp - DMARC evaluation for one Author Domain once the record is known
// (RFC 7489 §3.1 identifier alignment, §6.6.2 the mechanism check, §6.6.4 sampling,
// §7.2.1.1's disposition and PolicyOverride vocabulary), and the choice among several
// Author Domains (§6.6.1: the most strict policy among the checks that fail).
//
// Alignment compares the Author Domain with an authenticated identifier:
//   strict   the two names are equal (ASCII case-insensitive, final dot ignored);
//   relaxed  their Organizational Domains are equal (the caller's OrgDomainFn: the public
//            suffix list, core/io/public_suffix).
// DKIM: any signature with result "pass" whose d= aligns (adkim). SPF: a "pass" for the
// domain SPF checked (the MAIL FROM domain, or the HELO name for the null sender) that
// aligns (aspf). Pass when either aligns.
// Our choices where the RFC leaves them to the receiver:
//   - no aligned pass, but an aligned DKIM or SPF temperror: temperror (a key lookup that
//     timed out must not turn into a refusal); disposition none;
//   - the policy applied is sp (default p) when the record came from the Organizational
//     Domain and the Author Domain is a subdomain of it, else p; np is not applied;
//   - pct: the policy is enacted when draw < pct (draw uniform in 0..99). Sampled out,
//     reject becomes quarantine and quarantine becomes none (§6.6.4), override sampled_out;
//   - a trusted source (the caller's override: trusted_forwarder, mailing_list) lowers the
//     disposition to none; `may_reject` false (a log-only policy) lowers reject to
//     quarantine with override local_policy.
// Pure: no I/O.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/proto/dmarc_record.hpp"

namespace asmtpd::proto::dmarc {

enum class Result { None, Pass, Fail, TempError, PermError };
enum class Override { None, Forwarded, SampledOut, TrustedForwarder, MailingList, LocalPolicy, Other };
// What the record lookup gave for one Author Domain.
enum class Lookup { Found, Absent, Invalid, TempFail };

using OrgDomainFn = std::function<std::string(std::string_view)>;

struct AuthResult {
    std::string domain;   // d= for DKIM, the checked domain for SPF
    std::string result;   // RFC 8601 spelling: pass, fail, softfail, temperror, ...
};

struct Input {
    std::string author_domain;             // lower case
    Lookup lookup = Lookup::Absent;
    std::optional<Record> record;          // when Found
    bool record_at_org = false;            // the record was found at the Organizational Domain
    std::vector<AuthResult> dkim;
    std::optional<AuthResult> spf;
    unsigned draw = 0;                     // 0..99, the pct sample
    Override trusted = Override::None;     // set: this source's failures are not enacted
    bool may_reject = true;
};

struct Evaluation {
    Result result = Result::None;
    bool dkim_aligned = false, spf_aligned = false;
    std::string dkim_domain;               // the aligned passing d=, when dkim_aligned
    std::optional<Policy> requested;       // the p or sp that applied (a record was found)
    Policy disposition = Policy::None;     // what the receiver should do
    Override override = Override::None;
};

bool aligned(std::string_view identifier, std::string_view author, Alignment mode, const OrgDomainFn& org);

Evaluation evaluate(const Input& in, const OrgDomainFn& org);

// The index of the evaluation that decides for the whole message (several Author Domains):
// the failing one with the strictest disposition (then the strictest requested policy), else
// a temperror, else a permerror, else a pass, else the first. `all` must not be empty.
std::size_t decisive(const std::vector<Evaluation>& all);

std::string_view to_string(Result r);
std::string_view to_string(Override o);   // RFC 7489 Appendix C spelling: "sampled_out", ...

}  // namespace asmtpd::proto::dmarc

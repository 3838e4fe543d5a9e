// spf_eval.hpp - check_host() of RFC 7208 as a resumable evaluator that does no I/O.
//
// The evaluator never touches the network: start() and resume() return either the next DNS
// question (name, type) or the final Outcome, and the caller feeds each answer back as data
// (records, NXDOMAIN, no data, SERVFAIL, timeout). The plugin wires it to the resolver; tests
// feed it answers from a table.
// What it enforces (RFC 7208): record selection (§4.5: exactly one "v=spf1" TXT record,
// several -> permerror), the initial domain checks (§4.3), every mechanism (§5) and modifier
// (§6) with include/redirect semantics, macro expansion (§7) including %{p}, the limits of
// §4.6.4 (10 terms that cause DNS queries, 2 void lookups, 10 MX names, 10 PTR names), DNS
// errors -> temperror, the HELO identity and postmaster@<helo> for a null MAIL FROM (§2.3,
// §2.4), and the exp= explanation for a fail (§6.2).
// Rules: one question is outstanding at a time; resume() must get the answer to exactly the
// last question. Destroying the evaluator mid-way is safe (frames are freed).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/proto/spf_record.hpp"

namespace asmtpd::proto::spf {

enum class QType { A, AAAA, MX, TXT, PTR };
std::string_view to_string(QType t);

struct Query {
    std::string name;   // no trailing dot
    QType type = QType::TXT;
    bool operator==(const Query&) const = default;
};

enum class DnsStatus { Answer, NxDomain, NoData, ServFail, Timeout };

struct DnsAnswer {
    DnsStatus status = DnsStatus::NoData;
    // A/AAAA: address text; MX: exchange names (preference order); TXT: one string per
    // record, its character-strings concatenated (§3.3); PTR: names. No trailing dots needed.
    std::vector<std::string> records;

    static DnsAnswer of(std::vector<std::string> r) {
        return {r.empty() ? DnsStatus::NoData : DnsStatus::Answer, std::move(r)};
    }
    static DnsAnswer status_only(DnsStatus s) { return {s, {}}; }
};

enum class Identity { MailFrom, Helo };
std::string_view to_string(Identity i);   // "mailfrom", "helo"

struct Request {
    Identity identity = Identity::MailFrom;
    std::string ip;         // the client's address ("192.0.2.1", "2001:db8::1", "::ffff:1.2.3.4")
    std::string sender;     // MailFrom: "local@domain", or "" for the null reverse-path
    std::string helo;       // the HELO/EHLO argument
    std::string receiver;   // %{r}: this host's name
    std::int64_t now = 0;   // %{t}
};

struct Outcome {
    Result result = Result::None;
    Identity identity = Identity::MailFrom;  // MailFrom turns into Helo for a null sender
    std::string domain;        // the domain that was checked
    std::string sender;        // <sender> as used (postmaster@<helo> for a null MAIL FROM)
    std::string mechanism;     // the matching term, "default" if none matched, else empty
    std::string explanation;   // fail: the exp= text when there was a usable one
    std::string problem;       // permerror / temperror: why
    unsigned lookups = 0;      // terms that caused DNS queries (limit 10)
    unsigned void_lookups = 0; // queries that returned no records (limit 2)
    unsigned queries = 0;      // DNS questions asked
};

struct Step {
    std::optional<Query> query;       // the next question, or
    std::optional<Outcome> outcome;   // the result (then the evaluator is finished)
};

class Checker;   // the coroutines (spf_checker.hpp)

class Evaluator {
public:
    explicit Evaluator(Request r);
    ~Evaluator();
    Evaluator(const Evaluator&) = delete;
    Evaluator& operator=(const Evaluator&) = delete;

    Step start();
    Step resume(DnsAnswer answer);

private:
    std::unique_ptr<Checker> checker_;
};

// Runs an evaluator to the end with a synchronous answer function (tests, fuzzing).
Outcome evaluate(Request r, const std::function<DnsAnswer(const Query&)>& dns);

}  // namespace asmtpd::proto::spf

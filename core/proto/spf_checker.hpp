// spf_checker.hpp - the coroutines behind spf::Evaluator (internal to core/proto/spf_*.cpp).
//
// Checker holds the state of one evaluation: the request's macro values, the §4.6.4
// counters, the cached validated client names (ptr and %{p}), and the single outstanding DNS
// question. spf_eval.cpp has check_host() and the record handling, spf_mechanisms.cpp the
// mechanism matching. Owner: spf::Evaluator.
#pragma once

#include <coroutine>
#include <optional>
#include <string>
#include <vector>

#include "core/proto/cidr.hpp"
#include "core/proto/spf_eval.hpp"
#include "core/proto/spf_macro.hpp"
#include "core/proto/spf_task.hpp"

namespace asmtpd::proto::spf {

inline constexpr unsigned kMaxDnsTerms = 10;     // §4.6.4
inline constexpr unsigned kMaxVoidLookups = 2;   // §4.6.4
inline constexpr unsigned kMaxMxNames = 10;      // §4.6.4: more -> permerror
inline constexpr unsigned kMaxPtrNames = 10;     // §4.6.4: the rest are ignored

// What check_host() returned for one domain, plus the exp= to use if it is the final fail.
struct HostResult {
    Result result = Result::None;
    std::string mechanism;
    std::string problem;
    std::optional<std::string> exp;   // exp= domain-spec of the record that decided
    std::string exp_domain;           // that record's domain (%{d} inside exp)
};

// A mechanism either matches, does not, or ends evaluation with an error result.
struct Match {
    bool matched = false;
    std::optional<Result> error;   // TempError or PermError
    std::string problem;
    static Match yes() { return {true, {}, {}}; }
    static Match no() { return {}; }
    static Match fail(Result r, std::string why) { return {false, r, std::move(why)}; }
    static Match too_many_terms() {
        return fail(Result::PermError, "more than 10 DNS-querying mechanisms and modifiers");
    }
    static Match too_many_voids() { return fail(Result::PermError, "more than 2 void DNS lookups"); }
};

class Checker {
public:
    explicit Checker(Request r);

    Task<Outcome> run();

    // The one DNS question in flight; the awaiting frame is resumed with the answer.
    // A name that is no valid DNS name is answered at once as NXDOMAIN, without asking.
    struct Ask {
        Checker* self;
        Query q;
        std::optional<DnsAnswer> immediate;
        bool await_ready() const noexcept { return immediate.has_value(); }
        void await_suspend(std::coroutine_handle<> h) noexcept {
            self->pending_ = std::move(q);
            self->waiting_ = h;
        }
        DnsAnswer await_resume() { return immediate ? std::move(*immediate) : std::move(self->answer_); }
    };

    Task<Outcome> top;                  // run(), kept alive here
    std::optional<Query> pending_;
    std::coroutine_handle<> waiting_;
    DnsAnswer answer_;

private:
    Task<HostResult> check_host(std::string domain);
    Task<Match> match(const Directive& d, std::string domain);
    Task<Match> match_address(const Directive& d, std::string target);
    Task<Match> match_mx(const Directive& d, std::string target);
    Task<Match> match_ptr(std::string target);
    Task<Match> match_exists(std::string target);
    Task<Match> match_include(std::string target);
    Task<Match> validate_names();   // fills names_ once
    Task<std::optional<std::string>> expand(std::string spec, MacroUse use, std::string domain);
    Task<std::string> explanation(const HostResult& r);

    Ask ask(std::string name, QType t);
    // Count one DNS-querying term / one void answer; false once past the §4.6.4 limit.
    // (Plain bools: clang 14 mis-destroys an optional declared in an if-condition of a
    // coroutine across co_return.)
    bool count_term() { return ++lookups_ <= kMaxDnsTerms; }
    bool count_void() { return ++voids_ <= kMaxVoidLookups; }
    bool client_in(const std::string& address, const Directive& d) const;
    QType address_type() const { return ip_->is_v4() ? QType::A : QType::AAAA; }

    Request req_;
    std::optional<IpAddress> ip_;
    MacroValues macros_;
    unsigned lookups_ = 0;
    unsigned voids_ = 0;
    unsigned queries_ = 0;
    std::optional<std::vector<std::string>> names_;   // validated client names, once found
};

// Domain helpers shared by the two .cpp files.
std::string lower_no_dot(std::string_view name);
bool valid_query_name(std::string_view name);   // 1..63-octet labels, 253 in all
bool is_temp_error(const DnsAnswer& a);
bool is_void(const DnsAnswer& a);

}  // namespace asmtpd::proto::spf

// spf_policy.hpp - what qpsmtpd's sender_permitted_from does with an SPF result at each
// "reject" level (its POD, and the code's exact tests):
//   0  log only                      1  annotate only (Received-SPF, notes), never refuse
//   2  also defer (4xx) on temperror and on fail
//   3  reject (5xx) fail, defer softfail
//   4  reject softfail too, defer permerror
//   5  reject neutral too
//   6  reject none and permerror too
// pass is always accepted. Replies carry RFC 7372's codes: X.7.23 "SPF validation failed"
// for fail/softfail/neutral/none, X.7.24 "SPF validation error" for temperror/permerror.
// Pure: no I/O.
#pragma once

#include <string>

#include "core/proto/spf_eval.hpp"

namespace asmtpd::proto::spf {

inline constexpr int kMaxRejectLevel = 6;

enum class Action { Accept, Defer, Reject };

struct Decision {
    Action action = Action::Accept;
    int code = 250;
    std::string esc;    // "5.7.23" ...
    std::string text;   // qpsmtpd's wording: "SPF - fail: <reason>"
};

Decision decide(int reject_level, const Outcome& o);

}  // namespace asmtpd::proto::spf

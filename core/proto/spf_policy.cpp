// spf_policy.cpp - the reject-level table of qpsmtpd's sender_permitted_from.
#include "core/proto/spf_policy.hpp"

#include "core/proto/spf_header.hpp"

namespace asmtpd::proto::spf {

namespace {

Decision refuse(bool soft, bool error, std::string text, const Outcome& o) {
    Decision d;
    d.action = soft ? Action::Defer : Action::Reject;
    d.code = soft ? 451 : 550;
    d.esc = std::string(soft ? "4" : "5") + (error ? ".7.24" : ".7.23");
    std::string why = reason(o);
    d.text = "SPF - " + text + (why.empty() ? std::string() : ": " + why);
    return d;
}

}  // namespace

Decision decide(int reject, const Outcome& o) {
    const Result r = o.result;
    if (r == Result::Pass || reject <= 1) return {};
    switch (r) {
        case Result::Fail:
            if (reject >= 3) return refuse(false, false, "forgery", o);
            return refuse(true, false, "fail", o);   // reject 2
        case Result::SoftFail:
            if (reject >= 4) return refuse(false, false, "fail", o);
            if (reject == 3) return refuse(true, false, "fail", o);
            return {};
        case Result::Neutral:
            if (reject >= 5) return refuse(false, false, "neutral", o);
            return {};
        case Result::None:
            if (reject >= 6) return refuse(false, false, "none", o);
            return {};
        case Result::PermError:
            if (reject >= 6) return refuse(false, true, "permerror", o);
            if (reject >= 4) return refuse(true, true, "permerror", o);
            return {};
        case Result::TempError: return refuse(true, true, "temperror", o);   // reject >= 2
        case Result::Pass: break;
    }
    return {};
}

}  // namespace asmtpd::proto::spf

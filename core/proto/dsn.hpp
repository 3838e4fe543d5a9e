// dsn.hpp - the DSN extension's parameters (RFC 3461): NOTIFY and ORCPT on RCPT, RET and ENVID
// on MAIL. Validation of what a client sends, the normal form a next hop gets, and xtext
// encoding (§4: "+" followed by two upper-case hex digits for octets outside %d33-126, "+" and
// "=").
//
// Pure: no I/O, no logging. Errors are the Reply the client should get (501 5.5.4). Rules: a
// value is accepted only when it would be passed on unchanged in meaning: NOTIFY is NEVER or a
// list of SUCCESS, FAILURE, DELAY (any case, each at most once; NEVER alone); RET is FULL or
// HDRS; ENVID is xtext of 1..100 printable US-ASCII octets (§4.4); ORCPT is addr-type ";" xtext
// (addr-type an atom, the whole value at most 500 octets, §4.2), decoding to an address
// without controls (UTF-8 allowed, RFC 6533). The normal forms re-encode with upper-case hex,
// so what we send is never more than what we were sent.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/proto/command.hpp"
#include "core/proto/expected.hpp"

namespace asmtpd::proto {

inline constexpr std::size_t kDsnMaxEnvid = 100;   // decoded octets (RFC 3461 §4.4)
inline constexpr std::size_t kDsnMaxOrcpt = 500;   // the encoded parameter value (§4.2)

// NOTIFY's flags; none set means NEVER.
struct DsnNotify {
    bool success = false, failure = false, delay = false;
    bool never() const { return !success && !failure && !delay; }
    bool operator==(const DsnNotify&) const = default;
};
Expected<DsnNotify> parse_dsn_notify(std::string_view value);
std::string format_dsn_notify(const DsnNotify& n);   // "NEVER" | "SUCCESS,FAILURE,DELAY" (that order)

enum class DsnRet { Full, Hdrs };
Expected<DsnRet> parse_dsn_ret(std::string_view value);
std::string_view to_string(DsnRet r);                // "FULL" | "HDRS"

// ENVID: the decoded identifier.
Expected<std::string> parse_dsn_envid(std::string_view xtext);

struct DsnOrcpt {
    std::string type;      // addr-type as sent ("rfc822"; compared case-insensitively)
    std::string address;   // decoded
    bool operator==(const DsnOrcpt&) const = default;
};
Expected<DsnOrcpt> parse_dsn_orcpt(std::string_view value);
std::string format_dsn_orcpt(const DsnOrcpt& o);     // type ";" encode_xtext(address)

// RFC 3461 §4 xtext of any octets.
std::string encode_xtext(std::string_view raw);

// The DSN parameters of one MAIL or RCPT command, validated; the others are left alone.
// Returns the reply for the first bad one (a keyword sent twice is already refused by
// parse_mail_args / parse_rcpt_args).
struct DsnMailParams {
    std::optional<DsnRet> ret;
    std::optional<std::string> envid;
};
Expected<DsnMailParams> dsn_mail_params(const std::vector<EsmtpParam>& params);
struct DsnRcptParams {
    std::optional<DsnNotify> notify;
    std::optional<DsnOrcpt> orcpt;
};
Expected<DsnRcptParams> dsn_rcpt_params(const std::vector<EsmtpParam>& params);

// What a next hop that offers DSN gets: " RET=FULL ENVID=..." and " NOTIFY=... ORCPT=...",
// each with a leading space, empty when nothing was given.
std::string format_dsn_mail(const DsnMailParams& p);
std::string format_dsn_rcpt(const DsnRcptParams& p);

}  // namespace asmtpd::proto

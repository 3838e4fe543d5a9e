// rspamd_protocol.hpp - rspamd's HTTP protocol (docs.rspamd.com/developers/protocol): the
// request head of POST /checkv2 with the envelope and client facts as header fields, and the
// JSON reply of the normal worker.
//
// Reply (what rspamd 3.x sends; keys other than these are ignored):
//   { "action": "no action" | "greylist" | "add header" | "rewrite subject" | "soft reject"
//               | "reject",
//     "score": N, "required_score": N, "is_skipped": bool,
//     "symbols": { NAME: { "name": NAME, "score": N, "options": [ "..." ] }, ... },
//     "messages": { "smtp_message": "..." },
//     "subject": "...",                                  (rewrite subject: the new Subject)
//     "milter": { "add_headers": { NAME: "v" | {"value": "v", "order": N} | [ those ] },
//                 "remove_headers": { NAME: N } } }     (N: 0 = every one, n = the n-th)
// or { "error": "..." } when rspamd could not scan. A reply that is no JSON object, nests
// deeper than kMaxJsonDepth, lacks "action" or gives a number that is not finite is an error,
// with a short reason for the log: the caller treats it like rspamd being down. Header names
// from the milter block that are not RFC 5322 field-names are dropped here.
// Pure: no I/O, no logging (nlohmann::json without exceptions). Sizes are the caller's to cap.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace asmtpd::proto {

// ---- request ----

struct RspamdRequest {
    std::string path = "/checkv2";
    std::string host;                                          // Host: (the daemon's address)
    std::uint64_t content_length = 0;                          // the message that follows
    std::vector<std::pair<std::string, std::string>> fields;   // IP, Helo, From, Rcpt, ...
};

// "POST /checkv2 HTTP/1.1", Host, Connection: close, Content-Length, then the fields in order,
// then the empty line. Control characters (CR and LF included) are removed from values; a
// field whose value is empty afterwards, or whose name is not a token, is left out.
std::string rspamd_request_head(const RspamdRequest& r);

// ---- reply ----

inline constexpr std::size_t kMaxJsonDepth = 32;
inline constexpr std::size_t kMaxRspamdSymbols = 2000;

struct RspamdSymbol {
    std::string name;
    double score = 0;
    std::vector<std::string> options;
};

struct RspamdAddHeader {
    std::string name;
    std::string value;
    std::optional<std::size_t> order;   // milter insheader position; none: added at the top
};

struct RspamdRemoveHeader {
    std::string name;
    long long occurrence = 0;           // 0 = every one, n > 0 the n-th, n < 0 counted from the end
};

struct RspamdReply {
    std::string action;
    double score = 0;
    double required_score = 0;
    bool is_skipped = false;
    std::vector<RspamdSymbol> symbols;   // in reply order
    std::string smtp_message;            // messages.smtp_message, empty when none
    std::optional<std::string> subject;
    std::vector<RspamdAddHeader> add_headers;
    std::vector<RspamdRemoveHeader> remove_headers;
};

std::optional<RspamdReply> parse_rspamd_reply(std::string_view json, std::string& error);

// ---- presentation (Haraka's rspamd plugin) ----

// A number as JavaScript prints it: shortest round trip, no trailing ".0" ("7.5", "15", "-0.1").
std::string rspamd_number(double n);

// Haraka's spam bar: `positive` once per whole point of score >= 1, `negative` per point of
// score <= -1, else `neutral`; at most kMaxBar repetitions.
inline constexpr int kMaxBar = 50;
std::string rspamd_bar(double score, std::string_view positive, std::string_view negative, std::string_view neutral);

// Haraka's report: "NAME(score)" for every symbol with a score other than 0, space-separated.
std::string rspamd_report(const std::vector<RspamdSymbol>& symbols);

// The transaction note: "reject, score=1015 required=15 symbols=GTUBE(0),R_X(1.5)"
// (every symbol, "symbols=none" when there are none).
std::string rspamd_note(const RspamdReply& r);

// Haraka's subject template: the first "%s" becomes the old subject.
std::string rspamd_subject(std::string_view templ, std::string_view old_subject);

}  // namespace asmtpd::proto

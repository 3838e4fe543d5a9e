// dkim_note.hpp - the transaction notes the dkim plugin leaves for the plugins that read its
// verdicts (DMARC alignment, the Authentication-Results writer): their format, written and
// read in one place so the writer and the readers cannot drift apart.
//
// Two notes per verified transaction (none when the session was immune and nothing ran):
//   "dkim"          RFC 8601 method results, "; "-separated, ready to follow "dkim=" in an
//                   Authentication-Results field, one per signature in header order:
//                     pass header.d=example.com header.i=@example.com header.s=sel
//                          header.a=rsa-sha256 header.b=AbCdEfGh
//                     fail reason="body hash did not verify" header.d=... (same properties)
//                   or the single word "none" for a message without any DKIM-Signature.
//                   A signature that did not parse has only `permerror reason="..."`.
//                   No entry contains ';' (values that would need one are quoted with it
//                   replaced), so splitting on "; " is safe.
//   "dkim_results"  the same signatures for programs: one line per signature ('\n'
//                   between lines), fields separated by TAB:
//                     result  domain  selector  algorithm  identity  b-prefix  testing  reason
//                   result as RFC 8601 spells it (pass fail temperror permerror); domain the
//                   d= as written; identity the decoded i= ("@" + d= when absent); b-prefix the
//                   first 8 characters of b= in base64 (RFC 6008 header.b); testing "y" when
//                   the key record had t=y, else "n"; reason empty on pass. Fields the
//                   signature did not give (it did not parse) are empty. TAB, CR and LF inside
//                   a field become a space. Absent or empty for a message without signatures.
// Pure: no I/O. Owner: the dkim plugin (plugins/dkim/); readers: dmarc, Authentication-Results.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace asmtpd::plugins {

inline constexpr std::string_view kDkimNote = "dkim";
inline constexpr std::string_view kDkimResultsNote = "dkim_results";

struct DkimNoteEntry {
    std::string result;      // "pass" "fail" "temperror" "permerror"
    std::string domain;      // d=
    std::string selector;    // s=
    std::string algorithm;   // "rsa-sha256" "ed25519-sha256" "rsa-sha1"
    std::string identity;    // i= decoded, or "@" + d=
    std::string b_prefix;    // first 8 base64 characters of b=
    bool testing = false;    // the key had t=y
    std::string reason;      // empty on pass
};

// The "dkim" note: RFC 8601 results of `entries` ("none" when there are none).
std::string format_dkim_method_note(const std::vector<DkimNoteEntry>& entries);
// One entry's RFC 8601 result with its reason and properties (no "dkim=").
std::string format_dkim_method_result(const DkimNoteEntry& entry);

// The "dkim_results" note, and its reader (lines with too few fields are skipped).
std::string format_dkim_results_note(const std::vector<DkimNoteEntry>& entries);
std::vector<DkimNoteEntry> parse_dkim_results_note(std::string_view note);

// An RFC 8601 / RFC 2045 value: the text itself when it is a token, else a quoted-string
// (backslash before '"' and '\', ';' and control characters replaced by '?').
std::string rfc8601_value(std::string_view text);

}  // namespace asmtpd::plugins

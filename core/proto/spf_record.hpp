// spf_record.hpp - the SPF record parser (RFC 7208 §4.5, §4.6, §5, §6, §12 ABNF).
//
// parse_record() takes one TXT record text that is_spf_record() selected and returns its
// directives and modifiers, or the reason it is malformed: any syntax error anywhere in the
// record (unknown mechanism, bad qualifier, bad CIDR length, bad IP literal, bad macro,
// redirect= or exp= twice, non-ASCII) makes the whole record a permerror (§4.6), even if an
// earlier mechanism would have matched. Names are case-insensitive; terms are separated by
// one or more SP. Unknown modifiers are checked for syntax and otherwise ignored (§6).
// Pure: no I/O, no DNS; domain-specs are kept unexpanded for the evaluator.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/proto/cidr.hpp"

namespace asmtpd::proto::spf {

// The results of check_host() (§2.6), in RFC spelling via to_string().
enum class Result { None, Neutral, Pass, Fail, SoftFail, TempError, PermError };
std::string_view to_string(Result r);

enum class Mechanism { All, Include, A, Mx, Ptr, Ip4, Ip6, Exists };
std::string_view to_string(Mechanism m);

struct Directive {
    Result qualifier = Result::Pass;   // Pass, Fail, SoftFail or Neutral ("+ - ~ ?")
    Mechanism mechanism = Mechanism::All;
    std::string domain_spec;           // unexpanded; empty = the current domain (a, mx, ptr)
    unsigned cidr4 = 32;               // a, mx, ip4: IPv4 prefix length
    unsigned cidr6 = 128;              // a, mx, ip6: IPv6 prefix length
    Cidr network;                      // ip4 / ip6
    std::string text;                  // the term as written, for logs and Received-SPF
};

struct Record {
    std::vector<Directive> directives;        // in record order
    std::optional<std::string> redirect;      // domain-spec
    std::optional<std::string> exp;           // domain-spec
};

struct ParsedRecord {
    std::optional<Record> record;   // set when the record is well-formed
    std::string error;              // otherwise: why (for the permerror reason)
};

// "v=spf1" followed by SP or the end (§4.5), ASCII case-insensitive.
bool is_spf_record(std::string_view txt);

ParsedRecord parse_record(std::string_view txt);

}  // namespace asmtpd::proto::spf

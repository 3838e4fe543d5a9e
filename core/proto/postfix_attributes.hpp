// postfix_attributes.hpp - the "attribute=value ..." list that Postfix's XCLIENT and XFORWARD
// commands share (https://www.postfix.org/XCLIENT_README.html, XFORWARD_README.html).
//
//   attribute=value ...   names case-insensitive (kept upper-cased), each from the command's
//                         list; value: xtext (RFC 3461), or [UNAVAILABLE] / [TEMPUNAVAIL]
// Each command checks (and may normalise) a decoded value with its own rule; the first problem
// ends the parse with a short reason that may go into a reply. Pure: no I/O.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace asmtpd::proto {

struct PostfixAttr {
    std::string name;                  // upper case: "ADDR"
    std::optional<std::string> value;  // decoded; nullopt for [UNAVAILABLE] / [TEMPUNAVAIL]
    bool temporary = false;            // [TEMPUNAVAIL] (a lookup failed temporarily)
};

struct PostfixAttrParse {
    std::vector<PostfixAttr> attrs;
    std::string error;                 // empty when every attribute is valid
};

// "" when the decoded `value` suits attribute `name` (normalised in place), else what is wrong.
using PostfixAttrCheck = std::string (*)(const std::string& name, std::string& value);

PostfixAttrParse parse_postfix_attributes(std::string_view args, std::span<const std::string_view> names,
                                          PostfixAttrCheck check);

// Value rules both commands use.
std::string upper_ascii(std::string_view s);
bool printable_word(std::string_view v, std::size_t max = 255);   // no space, no control, not empty
bool port_number(std::string_view v);                               // 0..65535
bool ip_address_value(std::string& value);                          // drops Postfix's "IPV6:" prefix

}  // namespace asmtpd::proto

// xforward.hpp - the attributes of Postfix's XFORWARD command
// (https://www.postfix.org/XFORWARD_README.html), parsed and checked.
//
//   XFORWARD attribute=value ...     value: xtext (RFC 3461), or [UNAVAILABLE] / [TEMPUNAVAIL]
//   attributes: NAME ADDR PORT PROTO HELO IDENT SOURCE (case-insensitive)
// NAME is a host name (letters, digits, '-', '_', '.'); ADDR an IPv4 or IPv6 address ("IPV6:"
// prefix allowed, as Postfix sends it); PORT 0..65535; PROTO a word of at most 64 printable
// characters (Postfix's limit: "SMTP", "ESMTP", ...; upper-cased); HELO and IDENT printable ASCII
// without space; SOURCE LOCAL or REMOTE (upper-cased). The same attribute may come twice (the
// last wins, as in Postfix).
// Must never: return a value with a control character or a space (values go into log lines,
// the Received header and spp environments). Pure: no I/O.
#pragma once

#include <string_view>

#include "core/proto/postfix_attributes.hpp"

namespace asmtpd::proto {

using XforwardAttr = PostfixAttr;
using XforwardParse = PostfixAttrParse;

// The attribute names announced in EHLO, in Postfix's order ("NAME ADDR PROTO HELO SOURCE PORT IDENT").
std::string_view xforward_attribute_names();
XforwardParse parse_xforward(std::string_view args);

}  // namespace asmtpd::proto

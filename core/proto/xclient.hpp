// xclient.hpp - the attributes of Postfix's XCLIENT command
// (https://www.postfix.org/XCLIENT_README.html), parsed and checked.
//
//   XCLIENT attribute=value ...      value: xtext (RFC 3461), or [UNAVAILABLE] / [TEMPUNAVAIL]
//   attributes: NAME ADDR PORT PROTO HELO LOGIN DESTADDR DESTPORT (case-insensitive)
// ADDR is an IPv4 or IPv6 address ("IPV6:" prefix allowed, as Postfix sends it); PORT and
// DESTPORT 0..65535; PROTO SMTP or ESMTP; NAME, HELO and LOGIN printable ASCII without space.
// Pure: no I/O.
#pragma once

#include <string_view>

#include "core/proto/postfix_attributes.hpp"

namespace asmtpd::proto {

using XclientAttr = PostfixAttr;
using XclientParse = PostfixAttrParse;

// The attribute names announced in EHLO ("NAME ADDR PORT ...").
std::string_view xclient_attribute_names();
XclientParse parse_xclient(std::string_view args);

}  // namespace asmtpd::proto

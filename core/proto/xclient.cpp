// xclient.cpp - see xclient.hpp.
#include "core/proto/xclient.hpp"

#include <array>

namespace asmtpd::proto {

namespace {

constexpr std::array<std::string_view, 8> kNames = {"NAME", "ADDR", "PORT", "PROTO", "HELO", "LOGIN", "DESTADDR", "DESTPORT"};

// "" when `value` suits attribute `name`, else what is wrong.
std::string check(const std::string& name, std::string& value) {
    if (name == "ADDR" || name == "DESTADDR") return ip_address_value(value) ? "" : "not an IP address";
    if (name == "PORT" || name == "DESTPORT") return port_number(value) ? "" : "not a port number";
    if (name == "PROTO") {
        value = upper_ascii(value);
        return value == "SMTP" || value == "ESMTP" ? "" : "must be SMTP or ESMTP";
    }
    return printable_word(value) ? "" : "must be printable ASCII without spaces";
}

}  // namespace

std::string_view xclient_attribute_names() { return "NAME ADDR PORT PROTO HELO LOGIN DESTADDR DESTPORT"; }

XclientParse parse_xclient(std::string_view args) { return parse_postfix_attributes(args, kNames, check); }

}  // namespace asmtpd::proto

// xforward.cpp - see xforward.hpp.
#include "core/proto/xforward.hpp"

#include <array>

namespace asmtpd::proto {

namespace {

constexpr std::array<std::string_view, 7> kNames = {"NAME", "ADDR", "PROTO", "HELO", "SOURCE", "PORT", "IDENT"};

bool host_name(std::string_view v) {
    if (v.empty() || v.size() > 255) return false;
    for (char c : v) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                        c == '_' || c == '.';
        if (!ok) return false;
    }
    return true;
}

// "" when `value` suits attribute `name` (normalized in place), else what is wrong.
std::string check(const std::string& name, std::string& value) {
    if (name == "ADDR") return ip_address_value(value) ? "" : "not an IP address";
    if (name == "PORT") return port_number(value) ? "" : "not a port number";
    if (name == "NAME") return host_name(value) ? "" : "not a host name";
    if (name == "PROTO") {
        value = upper_ascii(value);
        return printable_word(value, 64) ? "" : "must be a word of at most 64 printable characters";
    }
    if (name == "SOURCE") {
        value = upper_ascii(value);
        return value == "LOCAL" || value == "REMOTE" ? "" : "must be LOCAL or REMOTE";
    }
    return printable_word(value, 255) ? "" : "must be printable ASCII without spaces";
}

}  // namespace

std::string_view xforward_attribute_names() { return "NAME ADDR PROTO HELO SOURCE PORT IDENT"; }

XforwardParse parse_xforward(std::string_view args) { return parse_postfix_attributes(args, kNames, check); }

}  // namespace asmtpd::proto

// xforward.cpp - see xforward.hpp.
#include "core/proto/xforward.hpp"

#include <array>
#include <charconv>

#include "core/proto/cidr.hpp"
#include "core/proto/command.hpp"

namespace asmtpd::proto {

namespace {

constexpr std::array<std::string_view, 7> kNames = {"NAME", "ADDR", "PROTO", "HELO", "SOURCE", "PORT", "IDENT"};

std::string upper(std::string_view s) {
    std::string u(s);
    for (char& c : u)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    return u;
}

bool printable_word(std::string_view v, std::size_t max) {
    if (v.empty() || v.size() > max) return false;
    for (char c : v)
        if (c <= ' ' || c >= 0x7f) return false;
    return true;
}

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
    if (name == "ADDR") {
        if (value.size() > 5 && upper(value.substr(0, 5)) == "IPV6:") value.erase(0, 5);
        return parse_ip(value) ? "" : "not an IP address";
    }
    if (name == "PORT") {
        unsigned n = 0;
        auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
        return (ec == std::errc() && end == value.data() + value.size() && n <= 65535) ? "" : "not a port number";
    }
    if (name == "NAME") return host_name(value) ? "" : "not a host name";
    if (name == "PROTO") {
        value = upper(value);
        return printable_word(value, 64) ? "" : "must be a word of at most 64 printable characters";
    }
    if (name == "SOURCE") {
        value = upper(value);
        return value == "LOCAL" || value == "REMOTE" ? "" : "must be LOCAL or REMOTE";
    }
    return printable_word(value, 255) ? "" : "must be printable ASCII without spaces";
}

}  // namespace

std::string_view xforward_attribute_names() { return "NAME ADDR PROTO HELO SOURCE PORT IDENT"; }

XforwardParse parse_xforward(std::string_view args) {
    XforwardParse out;
    std::size_t i = 0;
    while (i < args.size()) {
        while (i < args.size() && args[i] == ' ') ++i;
        if (i == args.size()) break;
        std::size_t end = args.find(' ', i);
        if (end == std::string_view::npos) end = args.size();
        std::string_view word = args.substr(i, end - i);
        i = end;
        const auto eq = word.find('=');
        if (eq == std::string_view::npos || eq == 0) {
            out.error = "attribute=value expected";
            return out;
        }
        XforwardAttr a;
        a.name = upper(word.substr(0, eq));
        bool known = false;
        for (auto n : kNames) known = known || n == a.name;
        if (!known) {
            // Named back only when it is a plain word (the text goes into a reply and the log).
            const bool plain = a.name.size() <= 32 && a.name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == std::string::npos;
            out.error = plain ? "unknown attribute " + a.name : "unknown attribute";
            return out;
        }
        std::string_view raw = word.substr(eq + 1);
        const std::string uraw = upper(raw);
        if (uraw == "[UNAVAILABLE]" || uraw == "[TEMPUNAVAIL]") {
            a.temporary = uraw == "[TEMPUNAVAIL]";
        } else {
            auto decoded = decode_xtext(raw);
            if (!decoded) {
                out.error = "bad xtext in " + a.name;
                return out;
            }
            std::string v = *decoded;
            if (auto why = check(a.name, v); !why.empty()) {
                out.error = a.name + ": " + why;
                return out;
            }
            a.value = std::move(v);
        }
        out.attrs.push_back(std::move(a));
    }
    if (out.attrs.empty() && out.error.empty()) out.error = "no attributes";
    return out;
}

}  // namespace asmtpd::proto

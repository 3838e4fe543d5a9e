// postfix_attributes.cpp - see postfix_attributes.hpp.
#include "core/proto/postfix_attributes.hpp"

#include <charconv>

#include "core/proto/cidr.hpp"
#include "core/proto/command.hpp"

namespace asmtpd::proto {

std::string upper_ascii(std::string_view s) {
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

bool port_number(std::string_view v) {
    unsigned n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    return ec == std::errc() && end == v.data() + v.size() && n <= 65535;
}

bool ip_address_value(std::string& value) {
    if (value.size() > 5 && upper_ascii(value.substr(0, 5)) == "IPV6:") value.erase(0, 5);
    return parse_ip(value).has_value();
}

PostfixAttrParse parse_postfix_attributes(std::string_view args, std::span<const std::string_view> names,
                                          PostfixAttrCheck check) {
    PostfixAttrParse out;
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
        PostfixAttr a;
        a.name = upper_ascii(word.substr(0, eq));
        bool known = false;
        for (auto n : names) known = known || n == a.name;
        if (!known) {
            // Named back only when it is a plain word (the text goes into a reply and the log).
            const bool plain = a.name.size() <= 32 && a.name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == std::string::npos;
            out.error = plain ? "unknown attribute " + a.name : "unknown attribute";
            return out;
        }
        std::string_view raw = word.substr(eq + 1);
        const std::string uraw = upper_ascii(raw);
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

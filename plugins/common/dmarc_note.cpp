// dmarc_note.cpp - the dmarc plugin's note. See dmarc_note.hpp.
#include "plugins/common/dmarc_note.hpp"

#include "plugins/common/dkim_note.hpp"

namespace asmtpd::plugins {

namespace dm = proto::dmarc;

namespace {

// The reason inside a comment: no parentheses, backslashes, ';' or controls.
std::string comment_text(std::string_view s) {
    std::string out;
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        out += (u < 0x20 || u >= 0x7f || c == '(' || c == ')' || c == '\\' || c == ';') ? '?' : c;
    }
    return out;
}

}  // namespace

std::string format_dmarc_note(const DmarcNote& n) {
    std::string out(dm::to_string(n.result));
    std::string comment;
    if (n.p) {
        comment = "p=" + std::string(dm::to_string(*n.p)) + " sp=" + std::string(dm::to_string(n.sp.value_or(*n.p))) +
                  " dis=" + std::string(dm::to_string(n.disposition));
        if (n.override != dm::Override::None) comment += " override=" + std::string(dm::to_string(n.override));
    }
    if (!n.reason.empty()) comment += (comment.empty() ? "" : " ") + comment_text(n.reason);
    if (!comment.empty()) out += " (" + comment + ")";
    if (!n.header_from.empty()) out += " header.from=" + rfc8601_value(n.header_from);
    return out;
}

}  // namespace asmtpd::plugins

// spp_config.cpp - parsing smtpplugins byte for byte as qmail's control_readfile and qmail-spp's
// spp_init do. See spp_config.hpp for the grammar; nothing here may throw or reject input.
#include "plugins/spp/spp_config.hpp"

#include <fmt/format.h>

namespace asmtpd::plugins::spp {

std::string_view section_name(Section s) {
    switch (s) {
        case Section::Connection: return "connection";
        case Section::Helo: return "helo";
        case Section::Mail: return "mail";
        case Section::Rcpt: return "rcpt";
        case Section::Data: return "data";
        case Section::Auth: return "auth";
        case Section::Pass: return "pass";
        case Section::DataPost: return "X-data_post";
        case Section::Dummy: return "dummy";
        case Section::Count_: break;
    }
    return "?";
}

Section section_of_header(std::string_view item) {
    if (item == kDataPostHeader) return Section::DataPost;
    if (item.size() < 2) return Section::Dummy;   // "[" alone: the next byte is qmail's NUL
    switch (item[1]) {
        case 'c': return Section::Connection;
        case 'h': return Section::Helo;
        case 'm': return Section::Mail;
        case 'r': return Section::Rcpt;
        case 'd': return Section::Data;
        case 'a': return Section::Auth;
        case 'p': return Section::Pass;
        default: return Section::Dummy;
    }
}

std::size_t SppConfig::runnable() const {
    std::size_t n = 0;
    for (Section s : {Section::Connection, Section::Helo, Section::Mail, Section::Rcpt, Section::Data,
                      Section::Auth, Section::Pass, Section::DataPost})
        n += programs(s).size();
    return n;
}

SppConfig parse_spp_config(std::string_view text) {
    SppConfig cfg;
    Section current = Section::Dummy;
    bool seen_header = false;
    std::size_t lineno = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
        ++lineno;
        std::size_t nl = text.find('\n', pos);
        std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
        pos = nl == std::string_view::npos ? text.size() : nl + 1;

        while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\n'))
            line.remove_suffix(1);
        // qmail tests the first byte of the NUL-terminated line: NUL means empty, '#' a comment.
        if (line.empty() || line.front() == '#' || line.front() == '\0') continue;
        if (line.find('\0') != std::string_view::npos)
            cfg.warnings.push_back(fmt::format("line {}: NUL byte splits the line into several entries", lineno));

        // qmail keeps the file as NUL-terminated items; a NUL inside a line ends one item early.
        std::size_t ipos = 0;
        while (ipos <= line.size()) {
            std::size_t z = line.find('\0', ipos);
            std::string_view item = line.substr(ipos, z == std::string_view::npos ? std::string_view::npos : z - ipos);
            ipos = z == std::string_view::npos ? line.size() + 1 : z + 1;

            if (!item.empty() && item.front() == '[') {
                current = section_of_header(item);
                seen_header = true;
                if (current == Section::Dummy)
                    cfg.warnings.push_back(fmt::format("line {}: '{}' is not a section qmail-spp knows; its "
                                                       "programs never run", lineno, item));
                continue;
            }
            ProgramLine p;
            p.line = std::string(item);
            p.shell = !item.empty() && item.front() == ':';
            p.command = std::string(p.shell ? item.substr(1) : item);
            p.lineno = lineno;
            if (!seen_header)
                cfg.warnings.push_back(fmt::format("line {}: '{}' comes before any section header; it never runs",
                                                   lineno, item));
            cfg.sections[static_cast<std::size_t>(current)].push_back(std::move(p));
        }
    }
    return cfg;
}

}  // namespace asmtpd::plugins::spp

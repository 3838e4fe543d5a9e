// spp_config.hpp - the qmail-spp `smtpplugins` file as data: which programs run in which section.
//
// Grammar (qmail's control_readfile, then qmail-spp's section scan; SPP.md §1):
//   - split on '\n'; strip trailing ' ', '\t', '\n' (never leading white space, never '\r');
//   - skip a line that is then empty or whose FIRST byte is '#' (no trailing comments);
//   - a NUL inside a line splits it into several items, as qmail's NUL-joined buffer does;
//   - an item starting with '[' opens a section chosen by the next byte only (case-sensitive):
//     c connection, h helo, m mail, r rcpt, d data, a auth, p pass (a fork extension);
//     anything else opens a dummy section whose programs never run. The ']' is not checked;
//   - any other item is a program line, appended to the current section (the dummy one before
//     the first header): ":cmd" runs `/bin/sh -c cmd`, anything else is the path, spaces and all.
// asmtpd extension: a header line that is exactly "[X-data_post]" (after the trailing-space
// strip) opens the data_post section, whose programs get the whole message on stdin after the
// final dot. Its first byte after '[' is 'X', so a real qmail-spp reads it as a dummy section
// and never runs those programs: the file stays byte-compatible both ways.
// Pure: no I/O, no logging. Owner: plugins/spp (also used by asmtpd-plugtest).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace asmtpd::plugins::spp {

enum class Section : std::uint8_t {
    Connection, Helo, Mail, Rcpt, Data, Auth, Pass, DataPost, Dummy,
    Count_
};
inline constexpr std::size_t kSectionCount = static_cast<std::size_t>(Section::Count_);

// "connection", "helo", ..., "X-data_post", "dummy".
std::string_view section_name(Section s);

inline constexpr std::string_view kDataPostHeader = "[X-data_post]";

struct ProgramLine {
    std::string line;      // exactly as written (after the trailing-space strip), ':' included
    bool shell = false;    // line started with ':'
    std::string command;   // shell: the text after ':'; else the whole line (the path)
    std::size_t lineno = 0;
};

struct SppConfig {
    std::array<std::vector<ProgramLine>, kSectionCount> sections;
    // Things an operator should hear about at start-up (they never change behaviour): NUL
    // bytes, programs before the first header, sections that never run (dummy ones).
    std::vector<std::string> warnings;

    const std::vector<ProgramLine>& programs(Section s) const { return sections[static_cast<std::size_t>(s)]; }
    // Programs in sections that run (every section but the dummy one).
    std::size_t runnable() const;
};

// Never fails: every byte sequence is a valid smtpplugins file (qmail-spp has no syntax errors).
SppConfig parse_spp_config(std::string_view text);

// The section a header item selects (the item starts with '[').
Section section_of_header(std::string_view item);

}  // namespace asmtpd::plugins::spp

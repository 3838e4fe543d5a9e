// spp_config_test.cpp - tests plugins/spp/spp_config.cpp: qmail's control_readfile line rules
// and qmail-spp's section scan, byte by byte (SPP.md §1), plus random inputs checked against an
// independent model of the same rules.
#include "plugins/spp/spp_config.hpp"

#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::plugins::spp;

namespace {

std::vector<std::string> lines_of(const SppConfig& c, Section s) {
    std::vector<std::string> out;
    for (const auto& p : c.programs(s)) out.push_back(p.line);
    return out;
}

using V = std::vector<std::string>;

}  // namespace

TEST_CASE("spp_config: sections by the byte after '[' only, case-sensitive") {
    auto c = parse_spp_config(
        "[connection]\n/c1\n[h]\n/h1\n[mail\n/m1\n[recipients]\n/r1\n[d-whatever]\n/d1\n[auth]\n/a1\n[pass]\n/p1\n");
    CHECK(lines_of(c, Section::Connection) == V{"/c1"});
    CHECK(lines_of(c, Section::Helo) == V{"/h1"});
    CHECK(lines_of(c, Section::Mail) == V{"/m1"});
    CHECK(lines_of(c, Section::Rcpt) == V{"/r1"});
    CHECK(lines_of(c, Section::Data) == V{"/d1"});
    CHECK(lines_of(c, Section::Auth) == V{"/a1"});
    CHECK(lines_of(c, Section::Pass) == V{"/p1"});
    CHECK(c.runnable() == 7);   // [auth] runs at auth_post, [pass] at rcpt_post
    CHECK(c.warnings.empty());  // no dummy section; [auth] and [pass] are no longer reported

    auto d = parse_spp_config("[RCPT]\n/x\n [rcpt]\n[ rcpt]\n/y\n[]\n/z\n[\n/w\n[Mail]\n/v\n");
    CHECK(lines_of(d, Section::Rcpt).empty());
    CHECK(lines_of(d, Section::Mail).empty());
    // " [rcpt]" is not a header at all: it is a program line (leading space kept) in the dummy.
    CHECK(lines_of(d, Section::Dummy) == V{"/x", " [rcpt]", "/y", "/z", "/w", "/v"});
    CHECK(d.runnable() == 0);
}

TEST_CASE("spp_config: section_of_header") {
    CHECK(section_of_header("[c") == Section::Connection);
    CHECK(section_of_header("[rcpt]") == Section::Rcpt);
    CHECK(section_of_header("[r]") == Section::Rcpt);
    CHECK(section_of_header("[data_post]") == Section::Data);   // qmail reads '[d' as data: so do we
    CHECK(section_of_header("[X-data_post]") == Section::DataPost);
    CHECK(section_of_header("[X-data_post] ") == Section::Dummy);   // callers strip first; exact match
    CHECK(section_of_header("[X-data_postx]") == Section::Dummy);
    CHECK(section_of_header("[x-data_post]") == Section::Dummy);
    CHECK(section_of_header("[") == Section::Dummy);
    CHECK(section_of_header("[R") == Section::Dummy);
    CHECK(section_name(Section::DataPost) == "X-data_post");
    CHECK(section_name(Section::Connection) == "connection");
}

TEST_CASE("spp_config: comments, blank lines, trailing white space, no trailing comments") {
    auto c = parse_spp_config("# head\n\n[mail]\n   \n\t\n#comment\n /lead # not a comment\t \n/a#b\n/tail \t\n  #x\n");
    CHECK(lines_of(c, Section::Mail) == V{" /lead # not a comment", "/a#b", "/tail", "  #x"});
}

TEST_CASE("spp_config: CR is not white space to qmail; no final newline is fine") {
    auto c = parse_spp_config("[rcpt]\r\n/a\r\n[mail]\n/b");
    // "[rcpt]\r" still opens rcpt (only the byte after '[' counts); "/a\r" keeps its CR.
    CHECK(lines_of(c, Section::Rcpt) == V{"/a\r"});
    CHECK(lines_of(c, Section::Mail) == V{"/b"});
}

TEST_CASE("spp_config: ':' lines run through the shell, other lines are a path, spaces included") {
    auto c = parse_spp_config("[mail]\n:echo E550 shell\nplugins/x -r foo\n:\n");
    const auto& m = c.programs(Section::Mail);
    REQUIRE(m.size() == 3);
    CHECK(m[0].shell);
    CHECK(m[0].command == "echo E550 shell");
    CHECK(m[0].line == ":echo E550 shell");
    CHECK(m[0].lineno == 2);
    CHECK_FALSE(m[1].shell);
    CHECK(m[1].command == "plugins/x -r foo");
    CHECK(m[2].shell);
    CHECK(m[2].command.empty());
}

TEST_CASE("spp_config: repeated sections concatenate in file order; pre-header lines never run") {
    auto c = parse_spp_config("/before\n[rcpt]\n/r1\n[mail]\n/m1\n[rcpt]\n/r2\n[r]\n/r3\n");
    CHECK(lines_of(c, Section::Rcpt) == V{"/r1", "/r2", "/r3"});
    CHECK(lines_of(c, Section::Dummy) == V{"/before"});
    bool warned = false;
    for (const auto& w : c.warnings) warned |= w.find("before any section header") != std::string::npos;
    CHECK(warned);
}

TEST_CASE("spp_config: a NUL splits a line into items, each scanned on its own") {
    using namespace std::string_literals;
    auto c = parse_spp_config("[mail]\n/a\0[rcpt]\0/b\n\0/skipped\n#c\0/also-skipped\n/x\0#y\n"s);
    CHECK(lines_of(c, Section::Mail) == V{"/a"});
    // A line starting with NUL is empty to qmail, a '#' line is a comment whatever follows the
    // NUL, but "#y" after a NUL is a program line (the '#' test looks at the line's first byte).
    CHECK(lines_of(c, Section::Rcpt) == V{"/b", "/x", "#y"});
    CHECK_FALSE(c.warnings.empty());
    // A NUL at the end of a line makes an empty item: a program with an empty path, as in qmail.
    auto d = parse_spp_config("[mail]\n/a\0\n"s);
    CHECK(lines_of(d, Section::Mail) == V{"/a", ""});
}

TEST_CASE("spp_config: the X-data_post extension and empty files") {
    auto c = parse_spp_config("[data]\n/d\n[X-data_post]  \n/filter\n:spamc -c\n");
    CHECK(lines_of(c, Section::Data) == V{"/d"});
    CHECK(lines_of(c, Section::DataPost) == V{"/filter", ":spamc -c"});
    CHECK(parse_spp_config("").runnable() == 0);
    CHECK(parse_spp_config("# only comments\n\n#\n").runnable() == 0);
    CHECK(parse_spp_config("\n\n\n").warnings.empty());
}

// An independent model of the rules, run against random bytes drawn from the characters that
// matter ('[', '#', ':', ' ', '\t', '\r', '\n', NUL and section letters).
TEST_CASE("spp_config: random inputs agree with a straightforward model") {
    std::mt19937 rng(4242);
    const std::string alphabet = std::string("[#: \t\r\n\0", 8) + "chmrdapXxR/-_";
    for (int iter = 0; iter < 3000; ++iter) {
        std::string text;
        int n = static_cast<int>(rng() % 80);
        for (int i = 0; i < n; ++i) text += alphabet[rng() % alphabet.size()];
        if (rng() % 5 == 0) text += "[X-data_post]\n/f\n";

        // Model: qmail control_readfile + spp_init.
        std::vector<std::pair<Section, std::string>> expect;
        Section cur = Section::Dummy;
        std::size_t pos = 0;
        while (pos < text.size()) {
            std::size_t nl = text.find('\n', pos);
            std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
            pos = nl == std::string::npos ? text.size() : nl + 1;
            while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.pop_back();
            if (line.empty() || line[0] == '#' || line[0] == '\0') continue;
            std::string item;
            for (std::size_t i = 0; i <= line.size(); ++i) {
                if (i < line.size() && line[i] != '\0') {
                    item += line[i];
                    continue;
                }
                if (!item.empty() && item[0] == '[') {
                    char b = item.size() > 1 ? item[1] : '\0';
                    cur = item == "[X-data_post]" ? Section::DataPost
                          : b == 'c'              ? Section::Connection
                          : b == 'h'              ? Section::Helo
                          : b == 'm'              ? Section::Mail
                          : b == 'r'              ? Section::Rcpt
                          : b == 'd'              ? Section::Data
                          : b == 'a'              ? Section::Auth
                          : b == 'p'              ? Section::Pass
                                                  : Section::Dummy;
                } else {
                    expect.emplace_back(cur, item);
                }
                item.clear();
            }
        }
        auto c = parse_spp_config(text);
        std::size_t total = 0;
        for (std::size_t s = 0; s < kSectionCount; ++s) total += c.sections[s].size();
        REQUIRE(total == expect.size());
        std::array<std::size_t, kSectionCount> seen{};
        for (const auto& [sec, line] : expect) {
            auto& i = seen[static_cast<std::size_t>(sec)];
            const auto& got = c.programs(sec);
            REQUIRE(i < got.size());
            CHECK(got[i].line == line);
            CHECK(got[i].shell == (!line.empty() && line[0] == ':'));
            ++i;
        }
    }
}

}  // namespace ASMTPD_TEST_UNIT

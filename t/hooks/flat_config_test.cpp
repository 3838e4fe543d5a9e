// flat_config_test.cpp - tests hooks/flat_config.cpp against real files in a temporary
// directory: trimming, comments, $include of files and directories, loops, memoisation.
#include "hooks/flat_config.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using asmtpd::hooks::FlatConfig;
namespace fs = std::filesystem;

namespace {

// A fresh directory removed at the end of the test.
struct TempDir {
    std::string path;
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "asmtpd-flat-XXXXXX").string();
        REQUIRE(mkdtemp(tmpl.data()) != nullptr);
        path = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    std::string write(const std::string& name, const std::string& content) const {
        auto p = fs::path(path) / name;
        fs::create_directories(p.parent_path());
        std::ofstream(p, std::ios::binary) << content;
        return p.string();
    }
};

using Lines = std::vector<std::string>;

bool any_warning_contains(const FlatConfig& c, const std::string& needle) {
    for (const auto& w : c.warnings())
        if (w.find(needle) != std::string::npos) return true;
    return false;
}

}  // namespace

TEST_CASE("FlatConfig: trimming, blank lines and comments") {
    TempDir d;
    d.write("rcpthosts", "example.org\n  example.net  \n\n   \n# a comment\n   # indented comment\n"
                         "\texample.com\t\r\nwith inner  space\nvalue # not a comment\nlast-no-newline");
    FlatConfig c(d.path);
    CHECK(c.exists("rcpthosts"));
    CHECK(c.lines("rcpthosts") ==
          Lines{"example.org", "example.net", "example.com", "with inner  space", "value # not a comment", "last-no-newline"});
    CHECK(c.first("rcpthosts") == "example.org");
    CHECK(c.warnings().empty());
}

TEST_CASE("FlatConfig: missing and empty files") {
    TempDir d;
    d.write("empty", "");
    d.write("only-comments", "# nothing\n\n  \n");
    FlatConfig c(d.path);
    CHECK_FALSE(c.exists("missing"));
    CHECK(c.lines("missing").empty());
    CHECK_FALSE(c.first("missing"));
    CHECK(c.exists("empty"));
    CHECK(c.lines("empty").empty());
    CHECK_FALSE(c.first("only-comments"));
    CHECK(c.warnings().empty());   // a missing control file is normal
}

TEST_CASE("FlatConfig: path joins the directory, absolute names are kept") {
    FlatConfig c("/etc/asmtpd");
    CHECK(c.path("me") == "/etc/asmtpd/me");
    CHECK(c.path("/abs/file") == "/abs/file");
    FlatConfig slash("/etc/asmtpd/");
    CHECK(slash.path("me") == "/etc/asmtpd/me");
    CHECK(slash.dir() == "/etc/asmtpd/");
}

TEST_CASE("FlatConfig: $include of a file, relative to the config directory") {
    TempDir d;
    d.write("badmailfrom", "a@example.org\n$include badmailfrom.local\nz@example.org\n");
    d.write("badmailfrom.local", "# local\nb@example.org\n  c@example.org  \n");
    FlatConfig c(d.path);
    CHECK(c.lines("badmailfrom") == Lines{"a@example.org", "b@example.org", "c@example.org", "z@example.org"});
    CHECK(c.warnings().empty());
}

TEST_CASE("FlatConfig: $include forms") {
    TempDir d;
    std::string abs = d.write("elsewhere/abs", "from-abs\n");
    d.write("x", "  $include   inc  \n$include\t" + abs + "\n$include\n$include a b\n$includes\n$INCLUDE inc\n");
    d.write("inc", "from-inc\n");
    FlatConfig c(d.path);
    // "$includes" and "$INCLUDE inc" are ordinary values, as in qpsmtpd's anchored regex.
    CHECK(c.lines("x") == Lines{"from-inc", "from-abs", "$includes", "$INCLUDE inc"});
    CHECK(any_warning_contains(c, "x:3: malformed $include"));
    CHECK(any_warning_contains(c, "x:4: malformed $include"));
}

TEST_CASE("FlatConfig: $include of a missing file warns with file:line") {
    TempDir d;
    d.write("x", "one\n$include nope\ntwo\n");
    FlatConfig c(d.path);
    CHECK(c.lines("x") == Lines{"one", "two"});
    REQUIRE(c.warnings().size() == 1);
    CHECK(c.warnings()[0].find("/x:2: $include nope") != std::string::npos);
}

TEST_CASE("FlatConfig: $include of a directory reads its regular non-dot files, sorted") {
    TempDir d;
    d.write("rcpthosts", "first\n$include rcpthosts.d\nlast\n");
    d.write("rcpthosts.d/20-b", "b\n");
    d.write("rcpthosts.d/10-a", "a1\n# c\na2\n");
    d.write("rcpthosts.d/.hidden", "hidden\n");
    d.write("rcpthosts.d/sub/deeper", "deeper\n");   // sub-directories are not descended into
    d.write("rcpthosts.d/30-c", "$include rcpthosts.extra\n");
    d.write("rcpthosts.extra", "extra\n");
    FlatConfig c(d.path);
    CHECK(c.lines("rcpthosts") == Lines{"first", "a1", "a2", "b", "extra", "last"});
    CHECK(c.warnings().empty());
}

TEST_CASE("FlatConfig: include loops are reported, not followed") {
    TempDir d;
    d.write("a", "a1\n$include b\na2\n");
    d.write("b", "b1\n$include a\nb2\n");
    d.write("self", "s1\n$include ./self\ns2\n");
    FlatConfig c(d.path);
    CHECK(c.lines("a") == Lines{"a1", "b1", "b2", "a2"});
    CHECK(any_warning_contains(c, "$include loop"));
    auto before = c.warnings().size();
    CHECK(c.lines("self") == Lines{"s1", "s2"});
    CHECK(c.warnings().size() == before + 1);
}

TEST_CASE("FlatConfig: a directory including itself through a file is a loop") {
    TempDir d;
    d.write("x", "$include dir\n");
    d.write("dir/1", "one\n$include dir\n");
    FlatConfig c(d.path);
    CHECK(c.lines("x") == Lines{"one"});
    CHECK(any_warning_contains(c, "$include loop"));
}

TEST_CASE("FlatConfig: the same file included twice (no loop) is read twice") {
    TempDir d;
    d.write("x", "$include common\n$include common\n");
    d.write("common", "c\n");
    FlatConfig c(d.path);
    CHECK(c.lines("x") == Lines{"c", "c"});
    CHECK(c.warnings().empty());
}

TEST_CASE("FlatConfig: results are memoised per instance; a new instance re-reads") {
    TempDir d;
    d.write("me", "mx1.example.org\n");
    FlatConfig c(d.path);
    const auto* first = &c.lines("me");
    CHECK(c.first("me") == "mx1.example.org");
    d.write("me", "mx2.example.org\n");
    CHECK(&c.lines("me") == first);
    CHECK(c.first("me") == "mx1.example.org");
    FlatConfig fresh(d.path);
    CHECK(fresh.first("me") == "mx2.example.org");
    // A copy is independent and usable.
    FlatConfig copy = c;
    CHECK(copy.first("me") == "mx1.example.org");
}

TEST_CASE("FlatConfig: binary junk and NUL bytes do not break reading") {
    TempDir d;
    d.write("junk", std::string("a\0b\n\xff\xfe\n  \r\n\r\r\nok\n", 17));
    FlatConfig c(d.path);
    auto lines = c.lines("junk");
    REQUIRE(lines.size() == 3);
    CHECK(lines[0] == std::string("a\0b", 3));
    CHECK(lines[2] == "ok");
}

}  // namespace ASMTPD_TEST_UNIT

// rename_no_replace_test.cpp - tests core/io/rename_no_replace.cpp: a free name is taken, an
// existing file is never replaced (its content survives and the source stays).
#include "core/io/rename_no_replace.hpp"

#include <doctest/doctest.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

namespace {
namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void spit(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

struct TempDir {
    fs::path path;
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "asmtpd-rnr-XXXXXX").string();
        path = ::mkdtemp(tmpl.data());
    }
    ~TempDir() { fs::remove_all(path); }
};
}  // namespace

TEST_CASE("a free name is taken and the source is gone") {
    TempDir d;
    spit(d.path / "a", "message one");
    CHECK(asmtpd::io::rename_no_replace((d.path / "a").c_str(), (d.path / "b").c_str()) == 0);
    CHECK(!fs::exists(d.path / "a"));
    CHECK(slurp(d.path / "b") == "message one");
}

TEST_CASE("an existing file is never replaced") {
    TempDir d;
    spit(d.path / "new", "delivered earlier");
    spit(d.path / "tmp", "second message");
    CHECK(asmtpd::io::rename_no_replace((d.path / "tmp").c_str(), (d.path / "new").c_str()) == EEXIST);
    CHECK(slurp(d.path / "new") == "delivered earlier");
    CHECK(slurp(d.path / "tmp") == "second message");
}

TEST_CASE("a missing source is reported") {
    TempDir d;
    CHECK(asmtpd::io::rename_no_replace((d.path / "none").c_str(), (d.path / "x").c_str()) == ENOENT);
}

}  // namespace ASMTPD_TEST_UNIT

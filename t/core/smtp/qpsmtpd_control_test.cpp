// qpsmtpd_control_test.cpp - tests core/smtp/qpsmtpd_control.cpp: qpsmtpd/qmail control files
// set their asmtpd.yaml keys, asmtpd.yaml wins when it sets the key, bad values are
// file:line errors, and each file read or ignored is reported as a note.
#include "core/smtp/qpsmtpd_control.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;

namespace {
namespace fs = std::filesystem;

struct Dir {
    std::string path;
    Dir() {
        path = (fs::temp_directory_path() / "asmtpd-ctl-XXXXXX").string();
        REQUIRE(::mkdtemp(path.data()) != nullptr);
    }
    ~Dir() { fs::remove_all(path); }
    void write(const std::string& name, const std::string& text) const { std::ofstream(path + "/" + name) << text; }
};

struct Applied {
    smtp::Settings s;
    std::vector<std::string> errors, notices;
};

Applied apply(const Dir& d, std::set<std::string> given = {}) {
    hooks::FlatConfig config(d.path);
    Applied a;
    smtp::apply_qpsmtpd_control_files(config, given, "mx.example.test", a.s, a.errors, a.notices);
    return a;
}
}  // namespace

TEST_CASE("control files set their keys") {
    Dir d;
    d.write("databytes", "# qmail style comment\n1000000\n");
    d.write("smtpgreeting", "mx.example.test Welcome to our relay\n");
    d.write("timeout", "120\n");
    d.write("loglevel", "4\n");
    d.write("size_threshold", "10000\n");
    d.write("tls_before_auth", "0\n");
    auto a = apply(d);
    CHECK(a.errors.empty());
    CHECK(a.s.limits.databytes == 1000000);
    CHECK(a.s.greeting == "Welcome to our relay");
    CHECK(a.s.timeouts.command == 120);
    CHECK(a.s.log_level == io::Level::Warn);
    CHECK(a.s.limits.memory_spool == 10000);
    CHECK(!a.s.tls_before_auth);
    CHECK(a.notices.size() == 6);
    CHECK(a.notices[0] == d.path + "/databytes: note: read as asmtpd.yaml limits.databytes: 1000000");
}

TEST_CASE("asmtpd.yaml wins, with a note") {
    Dir d;
    d.write("databytes", "5000\n");
    smtp::Settings defaults;
    auto a = apply(d, {"limits.databytes"});
    CHECK(a.errors.empty());
    CHECK(a.s.limits.databytes == defaults.limits.databytes);
    REQUIRE(a.notices.size() == 1);
    CHECK(a.notices[0] == d.path + "/databytes: note: ignored, asmtpd.yaml sets limits.databytes");
}

TEST_CASE("bad values are errors naming the file and the value") {
    Dir d;
    d.write("databytes", "lots\n");
    d.write("timeoutsmtpd", "0\n");
    d.write("loglevel", "9\n");
    auto a = apply(d);
    REQUIRE(a.errors.size() == 3);
    CHECK(a.errors[0] == d.path + "/databytes:1: databytes: expected a number of bytes (0 = no limit), got 'lots'");
    CHECK(a.errors[1].rfind(d.path + "/timeoutsmtpd:1: timeoutsmtpd: expected seconds", 0) == 0);
    CHECK(a.errors[2].rfind(d.path + "/loglevel:1: loglevel: expected a syslog level", 0) == 0);
}

TEST_CASE("a greeting without our host name is kept whole; tls_protocols gets a note") {
    Dir d;
    d.write("smtpgreeting", "other.example ESMTP\n");
    d.write("tls_protocols", "TLSv1.2\n");
    auto a = apply(d);
    CHECK(a.s.greeting == "other.example ESMTP");
    CHECK(a.notices.back() == d.path + "/tls_protocols: note: not read; set tls.min_version in asmtpd.yaml");
}

}  // namespace ASMTPD_TEST_UNIT

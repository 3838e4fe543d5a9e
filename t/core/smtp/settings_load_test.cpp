// settings_load_test.cpp - tests load_settings of core/smtp/settings.cpp on real files: a missing
// file, DIR/asmtpd.yaml named in its errors, an unreadable path, the shipped config/asmtpd.yaml;
// and machine_hostname.
#include "core/smtp/settings.hpp"
#include "plugins/builtin.hpp"

#include <doctest/doctest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::smtp;
namespace fs = std::filesystem;

namespace {

struct TempDir {
    std::string path;
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "asmtpd-settings-XXXXXX").string();
        REQUIRE(mkdtemp(tmpl.data()) != nullptr);
        path = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

}  // namespace

TEST_CASE("load_settings: missing file gives defaults, no error") {
    TempDir d;
    auto r = load_settings(d.path);
    CHECK(r.errors.empty());
    CHECK(r.settings.workers == 1);
    CHECK(r.settings.hostname == machine_hostname());
    auto none = load_settings(d.path + "/does/not/exist");
    CHECK(none.errors.empty());
}

TEST_CASE("load_settings: reads DIR/asmtpd.yaml and names it in errors") {
    TempDir d;
    std::ofstream(d.path + "/asmtpd.yaml") << "workers: 2\nlimits:\n  nope: 1\n";
    auto r = load_settings(d.path);
    CHECK(r.settings.workers == 2);
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0] == d.path + "/asmtpd.yaml:3: limits.nope: unknown key (known: max_connections, "
                                  "max_connections_per_ip, max_rcpts, databytes, max_errors, line_length, "
                                  "data_line_length, pipeline_bytes, memory_spool, max_children, auth_failures_per_ip, "
                                   "header_bytes, header_lines, data_min_rate, min_free_space)");
}

TEST_CASE("load_settings: an unreadable path is an error") {
    TempDir d;
    fs::create_directory(d.path + "/asmtpd.yaml");
    auto r = load_settings(d.path);
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].find("asmtpd.yaml:0: cannot read") != std::string::npos);
}

TEST_CASE("load_settings: the shipped config/asmtpd.yaml parses cleanly with its documented defaults") {
    // CMake gives every test binary the source tree's path: the test reads that copy, and a
    // missing file is a failure, never a skip.
    const std::string dir = std::string(ASMTPD_SOURCE_DIR) + "/config";
    REQUIRE_MESSAGE(fs::exists(fs::path(dir) / "asmtpd.yaml"), dir << "/asmtpd.yaml not found");
    std::vector<std::string> plugin_keys;   // as load_runtime collects them from the catalog
    for (const auto& e : asmtpd::plugins::builtin_plugins())
        if (e.settings_key) plugin_keys.emplace_back(e.settings_key);
    auto r = load_settings(dir, plugin_keys);
    for (const auto& e : r.errors) MESSAGE(e);
    CHECK(r.errors.empty());
    CHECK(r.settings.plugin_sections.count("spp_programs") == 1);   // the shipped example
    Settings defaults;
    CHECK(r.settings.limits.max_rcpts == defaults.limits.max_rcpts);
    CHECK(r.settings.limits.databytes == defaults.limits.databytes);
    CHECK(r.settings.timeouts.data == defaults.timeouts.data);
    CHECK(r.settings.workers == defaults.workers);
}

TEST_CASE("machine_hostname: non-empty and usable in a reply") {
    auto h = machine_hostname();
    CHECK_FALSE(h.empty());
    CHECK(h.find_first_of(" \r\n\t") == std::string::npos);
}

}  // namespace ASMTPD_TEST_UNIT

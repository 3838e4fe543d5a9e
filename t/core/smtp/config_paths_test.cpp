// config_paths_test.cpp - tests core/smtp/config_paths.cpp and load_settings' use of it: every
// relative path of asmtpd.yaml (and of qpsmtpd's spool_dir file) is taken from the config
// directory, the same from any working directory and through a symlinked config directory.
#include "core/smtp/config_paths.hpp"
#include "core/smtp/qpsmtpd_control.hpp"
#include "core/smtp/settings.hpp"
#include "hooks/flat_config.hpp"

#include <doctest/doctest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::smtp;
namespace fs = std::filesystem;

namespace {

struct TempDir {
    std::string path;
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "asmtpd-paths-XXXXXX").string();
        REQUIRE(mkdtemp(tmpl.data()) != nullptr);
        path = fs::canonical(tmpl).string();
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

// Runs in `dir` for its lifetime (the test binary's own fixtures need build-asan/ back).
struct InDirectory {
    fs::path old = fs::current_path();
    explicit InDirectory(const std::string& dir) { fs::current_path(dir); }
    ~InDirectory() { fs::current_path(old); }
};

const char* kYaml =
    "spool_dir: ../var/spool/\n"
    "state:\n  path: state/asmtpd.mdb\n"
    "tls:\n  cert: /etc/ssl/cert.pem\n  key: ./tls/../key.pem\n";

}  // namespace

TEST_CASE("config_base: absolute, normalised, symlinks resolved; a missing directory keeps its tail") {
    TempDir d;
    fs::create_directories(d.path + "/real/config");
    fs::create_directory_symlink(d.path + "/real/config", d.path + "/link");
    CHECK(config_base(d.path + "/real/config/") == d.path + "/real/config");
    CHECK(config_base(d.path + "/link") == d.path + "/real/config");
    CHECK(config_base(d.path + "/real/./config/../config") == d.path + "/real/config");
    CHECK(config_base(d.path + "/missing/dir") == d.path + "/missing/dir");
    InDirectory in(d.path + "/real");
    CHECK(config_base("config") == d.path + "/real/config");
    CHECK(config_base("") == d.path + "/real");
}

TEST_CASE("load_settings: asmtpd.yaml's relative paths are taken from the config directory") {
    TempDir d;
    fs::create_directories(d.path + "/srv/config");
    std::ofstream(d.path + "/srv/config/asmtpd.yaml") << kYaml;
    auto r = load_settings(d.path + "/srv/config");
    REQUIRE(r.errors.empty());
    CHECK(r.settings.spool_dir == d.path + "/srv/var/spool");
    CHECK(r.settings.state.path == d.path + "/srv/config/state/asmtpd.mdb");
    CHECK(r.settings.tls.cert == "/etc/ssl/cert.pem");
    CHECK(r.settings.tls.key == d.path + "/srv/config/key.pem");
    // The same from another working directory, with the directory given relative to it, and
    // through a symlink to the config directory (../ is beside the real one).
    fs::create_directory_symlink(d.path + "/srv/config", d.path + "/cfglink");
    for (const auto& [cwd, dir] : std::vector<std::pair<std::string, std::string>>{
             {d.path + "/srv", "config"}, {"/", d.path.substr(1) + "/srv/config"}, {d.path, "cfglink"}}) {
        CAPTURE(cwd);
        InDirectory in(cwd);
        auto again = load_settings(dir);
        REQUIRE(again.errors.empty());
        CHECK(again.settings.spool_dir == r.settings.spool_dir);
        CHECK(again.settings.state.path == r.settings.state.path);
        CHECK(again.settings.tls.key == r.settings.tls.key);
    }
}

TEST_CASE("load_settings: without asmtpd.yaml the spool is the var/ beside the config directory") {
    TempDir d;
    fs::create_directories(d.path + "/config");
    auto r = load_settings(d.path + "/config");
    CHECK(r.errors.empty());
    CHECK(r.settings.spool_dir == d.path + "/var/spool");
    CHECK(r.settings.state.path.empty());   // "" keeps its meaning: <spool_dir>/state.mdb
    CHECK(r.settings.tls.cert.empty());
}

TEST_CASE("qpsmtpd's spool_dir control file is taken from the config directory too") {
    TempDir d;
    fs::create_directories(d.path + "/config");
    std::ofstream(d.path + "/config/spool_dir") << "../qspool\n";
    asmtpd::hooks::FlatConfig config(d.path + "/config");
    Settings s;
    std::string hostname = "mx.example.org";
    std::vector<std::string> errors, notices;
    apply_qpsmtpd_control_files(config, {}, hostname, s, errors, notices);
    CHECK(errors.empty());
    CHECK(s.spool_dir == d.path + "/qspool");
}

}  // namespace ASMTPD_TEST_UNIT

// plugin_list_file_test.cpp - tests core/smtp/plugin_list_file.cpp: "$include" of a file and
// of a directory splices lines in place, line numbers stay those of each file, and missing
// files, loops and malformed includes are file:line errors that do not stop the reading.
#include "core/smtp/plugin_list_file.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using asmtpd::smtp::read_plugin_list;

namespace {
namespace fs = std::filesystem;

struct ConfigDir {
    std::string path;
    ConfigDir() {
        path = (fs::temp_directory_path() / "asmtpd-plist-XXXXXX").string();
        REQUIRE(::mkdtemp(path.data()) != nullptr);
    }
    ~ConfigDir() { fs::remove_all(path); }
    void write(const std::string& name, const std::string& text) const {
        fs::create_directories(fs::path(path + "/" + name).parent_path());
        std::ofstream(path + "/" + name) << text;
    }
};

std::string names(const asmtpd::proto::PluginList& l) {
    std::string s;
    for (const auto& p : l.plugins) s += (s.empty() ? "" : " ") + p.instance + "@" + std::to_string(p.line);
    return s;
}
}  // namespace

TEST_CASE("an included file is spliced in place with its own line numbers") {
    ConfigDir d;
    d.write("plugins", "hosts_allow\n$include queue-method\n# comment\nrcpt_ok\n");
    d.write("queue-method", "\n\nqueue/maildir /tmp/m\n");
    auto l = read_plugin_list(d.path);
    CHECK(l.errors.empty());
    CHECK(names(l) == "hosts_allow@1 queue/maildir@3 rcpt_ok@4");
    CHECK(l.plugins[1].file == d.path + "/queue-method");
}

TEST_CASE("a directory includes its files sorted, dot files skipped") {
    ConfigDir d;
    d.write("plugins", "$include plugins.d\nrcpt_ok\n");
    d.write("plugins.d/20-b", "relay\n");
    d.write("plugins.d/10-a", "hosts_allow\n");
    d.write("plugins.d/.hidden", "dnsbl\n");
    auto l = read_plugin_list(d.path);
    CHECK(l.errors.empty());
    CHECK(names(l) == "hosts_allow@1 relay@1 rcpt_ok@2");
}

TEST_CASE("missing includes, loops and malformed lines are errors and reading goes on") {
    ConfigDir d;
    d.write("plugins", "$include nothere\n$include a b\n$include loop1\nrcpt_ok\n");
    d.write("loop1", "relay\n$include loop2\n");
    d.write("loop2", "$include loop1\n");
    auto l = read_plugin_list(d.path);
    CHECK(names(l) == "relay@1 rcpt_ok@4");
    REQUIRE(l.errors.size() == 3);
    CHECK(l.errors[0] == d.path + "/plugins:1: $include " + d.path + "/nothere: no such file or directory");
    CHECK(l.errors[1] == d.path + "/plugins:2: $include needs exactly one file or directory name");
    CHECK(l.errors[2].rfind(d.path + "/loop2:1: $include loop", 0) == 0);
}

TEST_CASE("an absolute include and errors inside included files") {
    ConfigDir d, other;
    other.write("more", "rcpt_ok\nbad$name\n");
    d.write("plugins", "$include " + other.path + "/more\n");
    auto l = read_plugin_list(d.path);
    CHECK(names(l) == "rcpt_ok@1");
    REQUIRE(l.errors.size() == 1);
    CHECK(l.errors[0].rfind(other.path + "/more:2: ", 0) == 0);
}

TEST_CASE("no plugins file") {
    ConfigDir d;
    auto l = read_plugin_list(d.path);
    REQUIRE(l.errors.size() == 1);
    CHECK(l.errors[0] == d.path + "/plugins:0: cannot read the plugin list");
}

}  // namespace ASMTPD_TEST_UNIT

// legacy_names_test.cpp - tests plugins/legacy_names.cpp: qpsmtpd's older plugin names load
// as their asmtpd plugins with the arguments translated, the relay family folds into one
// relay line, missing successors are precise errors, and file:line is kept throughout.
#include "plugins/legacy_names.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "plugins/builtin.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;

namespace {

struct Migrated {
    proto::PluginList list;
    std::vector<std::string> notices;
};

Migrated migrate(const std::string& text, const std::string& smtpgateway = "",
                 std::span<const hooks::CatalogEntry> catalog = plugins::builtin_plugins()) {
    std::string dir = (std::filesystem::temp_directory_path() / "asmtpd-legacy-XXXXXX").string();
    REQUIRE(::mkdtemp(dir.data()) != nullptr);
    if (!smtpgateway.empty()) std::ofstream(dir + "/smtpgateway") << smtpgateway << "\n";
    hooks::FlatConfig config(dir);
    Migrated m;
    m.list = proto::parse_plugin_list(text, "plugins");
    plugins::migrate_legacy_names(m.list, catalog, config, m.notices);
    std::filesystem::remove_all(dir);
    return m;
}

std::string line_of(const proto::PluginLine& l) {
    std::string s = l.instance;
    for (const auto& a : l.args) s += " " + a;
    return s;
}

}  // namespace

TEST_CASE("renamed plugins keep their arguments, instance suffix and line") {
    auto m = migrate("auth/auth_flat_file\ncheck_spamhelo\nrequire_resolvable_fromhost:2 reject 0\n");
    REQUIRE(m.list.errors.empty());
    REQUIRE(m.list.plugins.size() == 3);
    CHECK(line_of(m.list.plugins[0]) == "auth/flat_file");
    CHECK(line_of(m.list.plugins[1]) == "helo");
    CHECK(line_of(m.list.plugins[2]) == "resolvable_fromhost:2 reject 0");
    CHECK(m.list.plugins[2].name == "resolvable_fromhost");
    CHECK(m.list.plugins[2].where() == "plugins:3");
    REQUIRE(m.notices.size() == 3);
    CHECK(m.notices[1] == "plugins:2: note: 'check_spamhelo' (qpsmtpd) loaded as 'helo'");
}

TEST_CASE("the relay family folds into one relay line") {
    auto m = migrate("check_relay\ncheck_norelay\nrelay_only\nrcpt_ok\n");
    REQUIRE(m.list.errors.empty());
    REQUIRE(m.list.plugins.size() == 2);
    CHECK(line_of(m.list.plugins[0]) == "relay only");
    CHECK(line_of(m.list.plugins[1]) == "rcpt_ok");
    auto alone = migrate("relay_only\n");
    REQUIRE(alone.list.plugins.size() == 1);
    CHECK(line_of(alone.list.plugins[0]) == "relay only");
}

TEST_CASE("queue/smtp-forward takes its next hop from smtpgateway") {
    auto m = migrate("queue/smtp-forward\n", "192.0.2.25:2525");
    REQUIRE(m.list.errors.empty());
    REQUIRE(m.list.plugins.size() == 1);
    CHECK(line_of(m.list.plugins[0]) == "queue/smtp_forward 192.0.2.25:2525");
    auto debconf = migrate("queue/smtp-forward 127.0.0.1 2525\n");
    REQUIRE(debconf.list.errors.empty());
    CHECK(line_of(debconf.list.plugins[0]) == "queue/smtp_forward 127.0.0.1:2525");
    auto postfix = migrate("queue/postfix-queue\n");
    REQUIRE(postfix.list.errors.size() == 1);
    CHECK(postfix.list.errors[0].find("no asmtpd equivalent; use queue/smtp_forward") != std::string::npos);
    auto missing = migrate("rcpt_ok\nqueue/smtp-forward\n");
    REQUIRE(missing.list.errors.size() == 1);
    CHECK(missing.list.errors[0].rfind("plugins:2: 'queue/smtp-forward' (qpsmtpd) needs config/smtpgateway", 0) == 0);
    CHECK(missing.list.plugins.size() == 1);
}

TEST_CASE("auth/auth_checkpassword arguments are translated or refused precisely") {
    auto m = migrate("auth/auth_checkpassword checkpw /usr/bin/vchkpw true /bin/true\n");
    REQUIRE(m.list.errors.empty());
    CHECK(line_of(m.list.plugins[0]) == "auth/checkpassword /usr/bin/vchkpw /bin/true");
    auto bad = migrate("auth/auth_checkpassword chekpw /x\n");
    REQUIRE(bad.list.errors.size() == 1);
    CHECK(bad.list.errors[0].find("unexpected 'chekpw'") != std::string::npos);
    CHECK(bad.list.plugins.empty());
}

TEST_CASE("logging plugins are dropped with a note; missing successors are errors") {
    // A build without the successor: the catalog minus "loop".
    std::vector<hooks::CatalogEntry> without_loop;
    for (const auto& e : plugins::builtin_plugins())
        if (std::string_view(e.name) != "loop") without_loop.push_back(e);
    auto m = migrate("logging/warn 7\ncheck_loop\nrcpt_ok\n", "", without_loop);
    REQUIRE(m.list.plugins.size() == 1);
    CHECK(m.list.plugins[0].name == "rcpt_ok");
    REQUIRE(m.notices.size() == 1);
    CHECK(m.notices[0].rfind("plugins:1: note: 'logging/warn' (qpsmtpd) is not loaded", 0) == 0);
    REQUIRE(m.list.errors.size() == 1);
    CHECK(m.list.errors[0].rfind("plugins:2: 'check_loop' (qpsmtpd) is not available: its successor 'loop'", 0) == 0);
}

TEST_CASE("the header checks' qpsmtpd names load as their successors") {
    auto m = migrate("check_loop 50\ncheck_basicheaders\ncheck_bogus_bounce deny\n");
    REQUIRE(m.list.errors.empty());
    REQUIRE(m.list.plugins.size() == 3);
    CHECK(line_of(m.list.plugins[0]) == "loop 50");
    CHECK(m.list.plugins[1].name == "headers");
    CHECK(line_of(m.list.plugins[2]) == "bogus_bounce deny");
}

TEST_CASE("current names pass through untouched") {
    auto m = migrate("relay\nrcpt_ok\ncheck_badmailfrom\nqueue/maildir /tmp/x\n");
    REQUIRE(m.list.errors.empty());
    CHECK(m.notices.empty());
    REQUIRE(m.list.plugins.size() == 4);
    CHECK(line_of(m.list.plugins[3]) == "queue/maildir /tmp/x");
}

TEST_CASE("qpsmtpd's auth/auth_imap HOST PORT is auth/imap HOST PORT") {
    auto m = migrate("auth/auth_imap 127.0.0.1 143\n");
    REQUIRE(m.list.errors.empty());
    REQUIRE(m.list.plugins.size() == 1);
    CHECK(line_of(m.list.plugins[0]) == "auth/imap 127.0.0.1 143");
}

}  // namespace ASMTPD_TEST_UNIT

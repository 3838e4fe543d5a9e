// plugin_list_test.cpp - tests core/proto/plugin_list.cpp: entries, instances, comments,
// CRLF files, and that every bad line is reported as file:line and skipped, never half-used.
#include "core/proto/plugin_list.hpp"

#include <doctest/doctest.h>

#include <string>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using asmtpd::proto::parse_plugin_list;
using asmtpd::proto::PluginList;

namespace {
using Args = std::vector<std::string>;
}

TEST_CASE("parse_plugin_list: entries, arguments, comments, blank lines") {
    const char* text =
        "# the plugin list\n"
        "hosts_allow\n"
        "\n"
        "   \t \n"
        "  # indented comment\n"
        "dnsbl zen.spamhaus.org  bl.example\treject\n"
        "  rcpt_ok\n"
        "queue/maildir /var/mail/%d # not a comment\n";
    auto l = parse_plugin_list(text, "config/plugins");
    CHECK(l.errors.empty());
    REQUIRE(l.plugins.size() == 4);
    CHECK(l.plugins[0].name == "hosts_allow");
    CHECK(l.plugins[0].instance == "hosts_allow");
    CHECK(l.plugins[0].args.empty());
    CHECK(l.plugins[0].line == 2);
    CHECK(l.plugins[0].where() == "config/plugins:2");
    CHECK(l.plugins[1].name == "dnsbl");
    CHECK(l.plugins[1].args == Args{"zen.spamhaus.org", "bl.example", "reject"});
    CHECK(l.plugins[1].line == 6);
    CHECK(l.plugins[2].name == "rcpt_ok");
    CHECK(l.plugins[2].line == 7);
    CHECK(l.plugins[3].name == "queue/maildir");
    CHECK(l.plugins[3].args == Args{"/var/mail/%d", "#", "not", "a", "comment"});
    CHECK(l.plugins[3].file == "config/plugins");
}

TEST_CASE("parse_plugin_list: empty inputs") {
    CHECK(parse_plugin_list("", "f").plugins.empty());
    CHECK(parse_plugin_list("", "f").errors.empty());
    CHECK(parse_plugin_list("\n\n\n", "f").plugins.empty());
    CHECK(parse_plugin_list("#only\n#comments", "f").plugins.empty());
}

TEST_CASE("parse_plugin_list: CRLF files and a missing final newline") {
    auto l = parse_plugin_list("a x\r\nb\r\n\r\nc y z", "p");
    CHECK(l.errors.empty());
    REQUIRE(l.plugins.size() == 3);
    CHECK(l.plugins[0].args == Args{"x"});
    CHECK(l.plugins[1].name == "b");
    CHECK(l.plugins[2].line == 4);
    CHECK(l.plugins[2].args == Args{"y", "z"});
}

TEST_CASE("parse_plugin_list: instances") {
    auto l = parse_plugin_list("spp\nspp:2 /etc/x\nspp:rcpt\nqueue/smtp_forward:1\n", "p");
    CHECK(l.errors.empty());
    REQUIRE(l.plugins.size() == 4);
    CHECK(l.plugins[1].name == "spp");
    CHECK(l.plugins[1].instance == "spp:2");
    CHECK(l.plugins[1].args == Args{"/etc/x"});
    CHECK(l.plugins[2].instance == "spp:rcpt");
    CHECK(l.plugins[3].name == "queue/smtp_forward");
    CHECK(l.plugins[3].instance == "queue/smtp_forward:1");
}

TEST_CASE("parse_plugin_list: duplicates are errors, the first one stays") {
    auto l = parse_plugin_list("rcpt_ok\nrelay\nrcpt_ok a\nspp:2\nspp:2\n", "config/plugins");
    REQUIRE(l.plugins.size() == 3);
    CHECK(l.plugins[0].args.empty());
    CHECK(l.plugins[2].instance == "spp:2");
    REQUIRE(l.errors.size() == 2);
    CHECK(l.errors[0].rfind("config/plugins:3: duplicate plugin instance 'rcpt_ok' (first at config/plugins:1)", 0) == 0);
    CHECK(l.errors[1].rfind("config/plugins:5: duplicate plugin instance 'spp:2'", 0) == 0);
}

TEST_CASE("parse_plugin_list: unsafe characters and bad names") {
    std::string text = "good1\n";
    text += std::string("nul\0here\n", 9);       // line 2
    text += "esc\x1b[0m\n";                        // line 3
    text += "utf8 caf\xc3\xa9\n";                  // line 4
    text += "cr\rinside\n";                        // line 5
    text += "del\x7f\n";                           // line 6
    text += "bad$name\n";                          // line 7
    text += "../etc/passwd\n";                     // line 8
    text += "/abs/path\n";                         // line 9
    text += "queue//maildir\n";                    // line 10
    text += "queue/\n";                            // line 11
    text += "name:\n";                             // line 12
    text += "name:a:b\n";                          // line 13
    text += "name:x.y\n";                          // line 14
    text += ":2\n";                                // line 15
    text += "a/./b\n";                             // line 16
    text += "good2 arg\n";                         // line 17
    auto l = parse_plugin_list(text, "f");
    REQUIRE(l.plugins.size() == 2);
    CHECK(l.plugins[0].name == "good1");
    CHECK(l.plugins[1].name == "good2");
    CHECK(l.plugins[1].line == 17);
    REQUIRE(l.errors.size() == 15);
    for (int i = 0; i < 15; ++i) {
        CAPTURE(l.errors[i]);
        CHECK(l.errors[i].rfind("f:" + std::to_string(i + 2) + ": ", 0) == 0);
    }
    CHECK(l.errors[0] == "f:2: unsafe character 0x00 in plugin line");
    CHECK(l.errors[2] == "f:4: unsafe character 0xc3 in plugin line");
    CHECK(l.errors[5] == "f:7: invalid plugin name 'bad$name'");
    // no error message ever carries a control character to the log
    for (const auto& e : l.errors) {
        for (char c : e) CHECK(static_cast<unsigned char>(c) >= 0x20);
    }
}

TEST_CASE("parse_plugin_list: the file name is used verbatim") {
    auto l = parse_plugin_list("x\nx\n", "/etc/asmtpd/plugins");
    REQUIRE(l.errors.size() == 1);
    CHECK(l.errors[0].rfind("/etc/asmtpd/plugins:2:", 0) == 0);
    CHECK(l.plugins[0].where() == "/etc/asmtpd/plugins:1");
}

}  // namespace ASMTPD_TEST_UNIT

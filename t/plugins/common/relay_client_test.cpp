// relay_client_test.cpp - tests plugins/common/relay_client.cpp: the RELAYCLIENT value as the session
// started (the note) wins over later environment changes, AUTH makes it "", only relay clients
// get a suffix, and appending follows qmail's "text, then split at the last @".
#include "plugins/common/relay_client.hpp"

#include <doctest/doctest.h>

#include <string>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using plugins::append_relay_suffix;
using plugins::kRelayClientNote;
using plugins::note_relay_client;
using plugins::note_relay_client_auth;
using plugins::relay_suffix;
using proto::Address;

namespace {
proto::ConnectionInfo relay_conn(std::optional<std::string> env_value) {
    proto::ConnectionInfo c;
    c.relay_client = true;
    if (env_value) c.env["RELAYCLIENT"] = *env_value;
    return c;
}
}  // namespace

TEST_CASE("relay_suffix: the value RELAYCLIENT had when the note was taken") {
    auto c = relay_conn("-gw");
    hooks::Notes notes;
    note_relay_client(c, notes);
    CHECK(notes.at(std::string(kRelayClientNote)) == "=-gw");
    c.env["RELAYCLIENT"] = "@elsewhere";   // spp "S RELAYCLIENT=@elsewhere" later
    CHECK(relay_suffix(c, notes) == std::string("-gw"));
    c.env.erase("RELAYCLIENT");            // spp "U RELAYCLIENT"
    CHECK(relay_suffix(c, notes) == std::string("-gw"));
    // A second note (another plugin at connect, after a program changed the env) changes nothing.
    c.env["RELAYCLIENT"] = "x";
    note_relay_client(c, notes);
    CHECK(relay_suffix(c, notes) == std::string("-gw"));
}

TEST_CASE("relay_suffix: not set at the start stays not set; a later S grants no suffix") {
    auto c = relay_conn(std::nullopt);
    hooks::Notes notes;
    note_relay_client(c, notes);
    CHECK(notes.at(std::string(kRelayClientNote)) == "-");
    c.env["RELAYCLIENT"] = "@evil.test";
    // A relay client for another reason (relayclients file): relaying, no suffix.
    CHECK(relay_suffix(c, notes) == std::string());
    c.relay_client = false;
    CHECK_FALSE(relay_suffix(c, notes));
}

TEST_CASE("relay_suffix: without a note the environment counts; only relay clients") {
    hooks::Notes none;
    CHECK(relay_suffix(relay_conn("@gw.test"), none) == std::string("@gw.test"));
    CHECK(relay_suffix(relay_conn(""), none) == std::string());
    CHECK(relay_suffix(relay_conn(std::nullopt), none) == std::string());
    auto revoked = relay_conn("@gw.test");   // norelayclients took the right away
    revoked.relay_client = false;
    CHECK_FALSE(relay_suffix(revoked, none));
    // A malformed note (nobody writes one) is taken as "no suffix", never as text.
    hooks::Notes odd{{std::string(kRelayClientNote), "garbage"}};
    CHECK(relay_suffix(relay_conn("x"), odd) == std::string());
}

TEST_CASE("relay_suffix: AUTH makes it empty, whatever came before") {
    auto c = relay_conn("-gw");
    hooks::Notes notes;
    note_relay_client(c, notes);
    note_relay_client_auth(notes);
    CHECK(relay_suffix(c, notes) == std::string());
    hooks::Notes fresh;   // AUTH before any note: later notes do not bring the suffix back
    note_relay_client_auth(fresh);
    note_relay_client(c, fresh);
    CHECK(relay_suffix(c, fresh) == std::string());
}

TEST_CASE("append_relay_suffix: qmail's text append, split at the last @") {
    auto a = append_relay_suffix(Address{"joe", "example.org"}, "-gw");
    REQUIRE(a);
    CHECK(*a == Address{"joe", "example.org-gw"});
    CHECK(append_relay_suffix(Address{"joe", "example.org"}, "") == Address{"joe", "example.org"});
    // A suffix with '@' moves the old domain into the local part (quoted when formatted).
    a = append_relay_suffix(Address{"joe", "example.org"}, "@gw.example.net");
    REQUIRE(a);
    CHECK(a->local == "joe@example.org");
    CHECK(a->domain == "gw.example.net");
    CHECK(a->format() == "<\"joe@example.org\"@gw.example.net>");
    // The bare postmaster gets a domain from a suffix that starts with '@'.
    a = append_relay_suffix(Address{"postmaster", ""}, "@example.net");
    REQUIRE(a);
    CHECK(*a == Address{"postmaster", "example.net"});
    // A quoted local part keeps its text.
    a = append_relay_suffix(Address{"a b", "example.org"}, ".gw");
    REQUIRE(a);
    CHECK(a->format() == "<\"a b\"@example.org.gw>");
}

TEST_CASE("append_relay_suffix: refuses what the recipient parser would refuse") {
    CHECK_FALSE(append_relay_suffix(Address{"joe", "example.org"}, "\r\nRCPT TO:<x@y>"));
    CHECK_FALSE(append_relay_suffix(Address{"joe", "example.org"}, std::string("x\0y", 3)));
    CHECK_FALSE(append_relay_suffix(Address{"joe", "example.org"}, "-" + std::string(300, 'a')));
    CHECK_FALSE(append_relay_suffix(Address{"joe", "example.org"}, ".."));          // empty label
    CHECK_FALSE(append_relay_suffix(Address{"postmaster", ""}, "-x"));              // a bare word
    CHECK_FALSE(append_relay_suffix(Address{"joe", "example.org"}, "@"));           // empty domain
    CHECK_FALSE(append_relay_suffix(Address{std::string(64, 'l'), "example.org"}, "@gw.test"));   // local > 64
}

}  // namespace ASMTPD_TEST_UNIT

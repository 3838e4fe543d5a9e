// next_hop_test.cpp - tests core/client/next_hop.cpp: next-hop addresses (IPv4, IPv6, localhost, host
// names, "mx", Unix paths, ports) and the client's key/value arguments, including every refusal.
#include "core/client/next_hop.hpp"

#include <doctest/doctest.h>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::client;

namespace {

std::optional<NextHop> hop(std::string_view text, std::uint16_t def = 25) {
    std::string error;
    auto h = parse_next_hop(text, def, error);
    if (!h) CHECK_FALSE(error.empty());
    return h;
}

std::string config_error(std::vector<std::string> args, NextHopProtocol p = NextHopProtocol::Smtp) {
    ClientConfig c;
    auto err = parse_client_config(args, p, c);
    return err ? *err : std::string();
}

}  // namespace

TEST_CASE("parse_next_hop: accepted forms") {
    auto h = hop("192.0.2.7");
    REQUIRE(h);
    CHECK(h->host == "192.0.2.7");
    CHECK(h->port == 25);
    CHECK_FALSE(h->unix_socket);
    CHECK(h->describe() == "192.0.2.7:25");

    h = hop("127.0.0.1:2525");
    REQUIRE(h);
    CHECK(h->port == 2525);

    h = hop("localhost", 24);
    REQUIRE(h);
    CHECK(h->host == "localhost");
    CHECK(h->port == 24);

    h = hop("[2001:db8::7]:587");
    REQUIRE(h);
    CHECK(h->host == "2001:db8::7");
    CHECK(h->port == 587);
    CHECK(h->describe() == "[2001:db8::7]:587");

    h = hop("::1");
    REQUIRE(h);
    CHECK(h->host == "::1");
    CHECK(h->port == 25);
    h = hop("[::1]");
    REQUIRE(h);
    CHECK(h->port == 25);

    h = hop("/run/dovecot/lmtp");
    REQUIRE(h);
    CHECK(h->unix_socket);
    CHECK(h->path == "/run/dovecot/lmtp");
    CHECK(h->describe() == "unix:/run/dovecot/lmtp");
    CHECK_FALSE(h->needs_dns());

    h = hop("Relay.Example.NET:587");
    REQUIRE(h);
    CHECK(h->host == "Relay.Example.NET");
    CHECK(h->port == 587);
    CHECK(h->needs_dns());
    h = hop("relay_1.example.net.");   // '_' tolerated, one final dot
    REQUIRE(h);
    CHECK(h->needs_dns());
    CHECK_FALSE(hop("localhost")->needs_dns());
    CHECK_FALSE(hop("192.0.2.7")->needs_dns());
}

TEST_CASE("parse_next_hop: refused forms") {
    for (const char* bad : {"", "mx..example.org", "mx.example.org:0", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536",
                            "127.0.0.1:25x", "127.0.0.1:-1", "[::1", "[::1]x", "[::1]:", "[127.0.0.1]:25", "256.0.0.1",
                            "1.2.3", ":25", "run/lmtp", "[]:25", "-mx.example.org", "mx-.example.org", "mx example.org",
                            "mx.exa$mple.org", ".example.org", "example.org..", "a@b.example"}) {
        INFO(bad);
        CHECK_FALSE(hop(bad));
    }
    CHECK_FALSE(hop("/" + std::string(107, 'x')));   // sun_path holds 107 octets plus NUL
    CHECK(hop("/" + std::string(106, 'x')));
    CHECK_FALSE(hop(std::string(64, 'a') + ".example"));   // a label of 64 octets
    CHECK(hop(std::string(63, 'a') + ".example"));
    std::string long_name;
    while (long_name.size() < 250) long_name += "abcdefghi.";
    CHECK(hop(long_name + "org"));                          // 253 octets
    CHECK_FALSE(hop(long_name + "orgs"));                   // 254
    std::string error;
    CHECK_FALSE(parse_next_hop("relay..example.net", 25, error));
    CHECK(error.find("neither an IP address nor a host name") != std::string::npos);
}

TEST_CASE("parse_client_config: mx, port and dns_timeout") {
    ClientConfig c;
    REQUIRE_FALSE(parse_client_config({"mx"}, NextHopProtocol::Smtp, c));
    CHECK(c.hop.mx);
    CHECK(c.hop.port == 25);
    CHECK(c.dns_ms == 5000);
    CHECK_FALSE(c.hop.needs_dns());
    CHECK(c.hop.describe() == "mx:25");
    REQUIRE_FALSE(parse_client_config({"mx", "port", "2525", "dns_timeout", "1.5"}, NextHopProtocol::Smtp, c));
    CHECK(c.hop.port == 2525);
    CHECK(c.dns_ms == 1500);
    REQUIRE_FALSE(parse_client_config({"relay.example.net", "dns_timeout", "2"}, NextHopProtocol::Lmtp, c));
    CHECK(c.hop.port == 24);
    CHECK(c.dns_ms == 2000);

    CHECK(config_error({"mx"}, NextHopProtocol::Lmtp).find("queue/smtp_forward only") != std::string::npos);
    CHECK(config_error({"127.0.0.1", "port", "26"}).find("\"mx\" only") != std::string::npos);
    CHECK_FALSE(config_error({"mx", "port", "0"}).empty());
    CHECK_FALSE(config_error({"mx", "port", "65536"}).empty());
    CHECK_FALSE(config_error({"mx", "dns_timeout", "0"}).empty());
    // DNS must leave the delivery time: its budget is part of total_timeout.
    CHECK_FALSE(config_error({"mx", "dns_timeout", "100", "total_timeout", "100"}).empty());
}

TEST_CASE("parse_client_config: defaults and every key") {
    ClientConfig c;
    REQUIRE_FALSE(parse_client_config({"127.0.0.1"}, NextHopProtocol::Lmtp, c));
    CHECK(c.hop.port == 24);   // LMTP's port
    CHECK(c.protocol == NextHopProtocol::Lmtp);
    CHECK(c.limits.max_connections == 20);
    CHECK(c.limits.connect_ms == 10000);
    CHECK(c.limits.command_ms == 60000);
    CHECK(c.limits.data_end_ms == 300000);
    CHECK(c.limits.idle_ms == 30000);
    CHECK(c.limits.total_ms == 540000);

    REQUIRE_FALSE(parse_client_config({"127.0.0.1", "max_connections", "3", "timeout", "1.5", "connect_timeout", "2",
                                       "data_timeout", "30", "idle_timeout", "0.25", "total_timeout", "100"},
                                      NextHopProtocol::Smtp, c));
    CHECK(c.hop.port == 25);
    CHECK(c.limits.max_connections == 3);
    CHECK(c.limits.command_ms == 1500);
    CHECK(c.limits.connect_ms == 2000);
    CHECK(c.limits.data_end_ms == 30000);
    CHECK(c.limits.idle_ms == 250);
    CHECK(c.limits.total_ms == 100000);
}

TEST_CASE("parse_client_config: refusals") {
    CHECK(config_error({}).find("missing next hop") != std::string::npos);
    CHECK(config_error({"example.org"}).empty());     // a host name: resolved per delivery
    CHECK_FALSE(config_error({"example..org"}).empty());
    CHECK_FALSE(config_error({"127.0.0.1", "max_connections"}).empty());           // no value
    CHECK_FALSE(config_error({"127.0.0.1", "max_connections", "0"}).empty());
    CHECK_FALSE(config_error({"127.0.0.1", "max_connections", "10001"}).empty());
    CHECK_FALSE(config_error({"127.0.0.1", "max_connections", "1e3"}).empty());
    CHECK_FALSE(config_error({"127.0.0.1", "timeout", "0"}).empty());
    CHECK_FALSE(config_error({"127.0.0.1", "idle_timeout", "-2"}).empty());
    CHECK_FALSE(config_error({"127.0.0.1", "data_timeout", "soon"}).empty());
    CHECK_FALSE(config_error({"127.0.0.1", "timout", "5"}).empty());               // typo
    CHECK_FALSE(config_error({"127.0.0.1", "timeout", "5", "timeout", "6"}).empty());
    CHECK_FALSE(config_error({"127.0.0.1", "127.0.0.2"}).empty());
    // The total must leave room for a connect and one reply.
    CHECK_FALSE(config_error({"127.0.0.1", "total_timeout", "69"}).empty());
    CHECK(config_error({"127.0.0.1", "total_timeout", "70"}).empty());
}

TEST_CASE("parse_client_config: STARTTLS and AUTH keys") {
    ClientConfig c;
    REQUIRE_FALSE(parse_client_config({"relay.example.net:587"}, NextHopProtocol::Smtp, c));
    CHECK(c.security.tls == TlsMode::None);   // what the plugin always did
    CHECK_FALSE(c.security.wants_auth());

    REQUIRE_FALSE(parse_client_config({"relay.example.net:587", "tls", "required", "auth_user", "alice",
                                       "auth_pass_file", "/etc/asmtpd/relay_pw"},
                                      NextHopProtocol::Smtp, c));
    CHECK(c.security.tls == TlsMode::Required);
    CHECK(c.security.verify);                           // required: verified by default
    CHECK(c.security.tls_name == "relay.example.net");  // the configured name, not an address
    CHECK(c.security.auth_user == "alice");
    CHECK(c.security.auth_pass_file == "/etc/asmtpd/relay_pw");
    CHECK(c.security.auth_pass.empty());                // read by load_client_security
    CHECK_FALSE(c.security.auth_plaintext);

    REQUIRE_FALSE(parse_client_config({"127.0.0.1", "tls", "opportunistic", "ca_file", "/x/ca.pem", "tls_name",
                                       "relay.example.net"},
                                      NextHopProtocol::Smtp, c));
    CHECK(c.security.tls == TlsMode::Opportunistic);
    CHECK_FALSE(c.security.verify);                     // opportunistic: encryption only, unless asked
    CHECK(c.security.tls_name == "relay.example.net");
    CHECK(c.security.ca_file == "/x/ca.pem");
    REQUIRE_FALSE(parse_client_config({"127.0.0.1", "tls", "required", "tls_verify", "no"}, NextHopProtocol::Smtp, c));
    CHECK_FALSE(c.security.verify);
    CHECK(c.security.tls_name == "127.0.0.1");
    REQUIRE_FALSE(parse_client_config({"mx", "tls", "opportunistic"}, NextHopProtocol::Smtp, c));
    CHECK(c.security.tls_name.empty());
    REQUIRE_FALSE(parse_client_config({"127.0.0.1", "auth_user", "bob", "auth_pass", "pw", "auth_plaintext", "yes"},
                                      NextHopProtocol::Smtp, c));
    CHECK(c.security.auth_pass == "pw");
    CHECK(c.security.auth_plaintext);
}

TEST_CASE("parse_client_config: Postfix's TLS levels, and which one falls back to plaintext") {
    struct Case {
        std::vector<std::string> args;
        TlsMode tls;
        bool verify, fallback;
    };
    const Case cases[] = {
        {{"127.0.0.1", "tls", "may"}, TlsMode::Opportunistic, false, true},
        {{"127.0.0.1", "tls", "opportunistic"}, TlsMode::Opportunistic, false, true},   // the same level
        {{"127.0.0.1", "tls", "opportunistic", "tls_verify", "yes"}, TlsMode::Opportunistic, true, false},
        {{"127.0.0.1", "tls", "encrypt"}, TlsMode::Required, false, false},
        {{"127.0.0.1", "tls", "verify"}, TlsMode::Required, true, false},
        {{"127.0.0.1", "tls", "secure", "tls_verify", "yes"}, TlsMode::Required, true, false},
        {{"127.0.0.1", "tls", "required"}, TlsMode::Required, true, false},
        {{"127.0.0.1"}, TlsMode::None, false, false},
    };
    for (const auto& k : cases) {
        ClientConfig c;
        INFO(k.args.back());
        REQUIRE_FALSE(parse_client_config(k.args, NextHopProtocol::Smtp, c));
        CHECK(c.security.tls == k.tls);
        CHECK(c.security.verify == k.verify);
        CHECK(c.security.plaintext_fallback() == k.fallback);
    }
    // A tls_verify that contradicts the level is refused; mx has no verified level.
    CHECK(config_error({"127.0.0.1", "tls", "may", "tls_verify", "yes"}) == "tls may means tls_verify no: drop tls_verify yes");
    CHECK(config_error({"127.0.0.1", "tls", "secure", "tls_verify", "no"}) == "tls secure means tls_verify yes: drop tls_verify no");
    CHECK(config_error({"127.0.0.1", "tls", "encrypt", "tls_verify", "no"}).empty());
    CHECK(config_error({"mx", "tls", "verify"}).find("mx:") == 0);
    CHECK(config_error({"mx", "tls", "may"}).empty());
}

TEST_CASE("parse_client_config: STARTTLS and AUTH refusals") {
    auto has = [](std::vector<std::string> args, std::string_view what, NextHopProtocol p = NextHopProtocol::Smtp) {
        const std::string err = config_error(std::move(args), p);
        INFO(err);
        return err.find(what) != std::string::npos;
    };
    CHECK(has({"127.0.0.1", "tls", "sometimes"}, "bad tls"));
    CHECK(has({"127.0.0.1", "tls", "required", "tls_verify", "maybe"}, "bad tls_verify"));
    CHECK(has({"127.0.0.1", "ca_file", "/x"}, "need tls"));
    CHECK(has({"127.0.0.1", "tls_name", "a.example"}, "need tls"));
    CHECK(has({"127.0.0.1", "tls", "required", "tls_name", "a..example"}, "bad tls_name"));
    CHECK(has({"127.0.0.1", "tls", "required"}, "smtp_forward only", NextHopProtocol::Lmtp));
    CHECK(has({"/run/x", "tls", "required"}, "smtp_forward only", NextHopProtocol::Lmtp));
    CHECK(has({"mx", "tls", "required", "tls_verify", "yes"}, "mx:"));
    CHECK(has({"mx", "tls", "required", "auth_user", "a", "auth_pass", "b"}, "mx:"));
    // Never the password in plaintext unless asked for.
    CHECK(has({"127.0.0.1", "auth_user", "a", "auth_pass_file", "/x"}, "plaintext"));
    CHECK(has({"127.0.0.1", "tls", "required", "auth_user", "a"}, "exactly one"));
    CHECK(has({"127.0.0.1", "tls", "required", "auth_user", "a", "auth_pass", "b", "auth_pass_file", "/x"},
              "exactly one"));
    CHECK(has({"127.0.0.1", "tls", "required", "auth_pass", "b"}, "need auth_user"));
    CHECK(has({"127.0.0.1", "tls", "required", "auth_user", "a b", "auth_pass", "b"}, "printable"));
    CHECK(has({"127.0.0.1", "auth_user", "a", "auth_pass", "b", "auth_plaintext", "perhaps"}, "bad auth_plaintext"));
}

}  // namespace ASMTPD_TEST_UNIT

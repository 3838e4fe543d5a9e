// milter_client_test.cpp - tests core/client/milter_client.cpp's address parsing (Postfix's
// milter socket syntax). The exchanges themselves run against real milters (python3-milter,
// opendkim) in t/e2e/test_milter.py.
#include "core/client/milter_client.hpp"

#include <doctest/doctest.h>

#include <string>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;

TEST_CASE("milter socket: Postfix's forms") {
    std::string err;
    auto h = client::parse_milter_socket("unix:/run/opendkim/opendkim.sock", err);
    REQUIRE(h);
    CHECK(h->unix_socket);
    CHECK(h->path == "/run/opendkim/opendkim.sock");
    h = client::parse_milter_socket("local:/var/run/milter.sock", err);
    REQUIRE(h);
    CHECK(h->path == "/var/run/milter.sock");
    h = client::parse_milter_socket("inet:8891@127.0.0.1", err);
    REQUIRE(h);
    CHECK(!h->unix_socket);
    CHECK(h->host == "127.0.0.1");
    CHECK(h->port == 8891);
    h = client::parse_milter_socket("inet:localhost:11332", err);
    REQUIRE(h);
    CHECK(h->host == "localhost");
    CHECK(h->port == 11332);
    h = client::parse_milter_socket("inet:8891@[::1]", err);
    REQUIRE(h);
    CHECK(h->host == "::1");
    h = client::parse_milter_socket("inet6:8891@::1", err);
    REQUIRE(h);
    CHECK(h->port == 8891);
}

TEST_CASE("milter socket: refused forms name the problem") {
    std::string err;
    CHECK(!client::parse_milter_socket("unix:relative.sock", err));
    CHECK(err.find("absolute") != std::string::npos);
    CHECK(!client::parse_milter_socket("tcp:8891@127.0.0.1", err));
    CHECK(!client::parse_milter_socket("inet:0@127.0.0.1", err));
    CHECK(err.find("bad port") != std::string::npos);
    CHECK(!client::parse_milter_socket("inet:70000@127.0.0.1", err));
    CHECK(!client::parse_milter_socket("inet:x@127.0.0.1", err));
    CHECK(!client::parse_milter_socket("inet:8891@milter.example", err));
    CHECK(err.find("IP address or localhost") != std::string::npos);
    CHECK(!client::parse_milter_socket("inet:8891", err));
}

}  // namespace ASMTPD_TEST_UNIT

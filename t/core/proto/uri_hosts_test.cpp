// uri_hosts_test.cpp - tests core/proto/uri_hosts.cpp: the hosts and addresses qpsmtpd's uribl
// finds in a text (scheme URIs with any TLD, bare domains with its TLD list, obfuscated forms,
// numeric and octal/hex addresses), and what must not be found.
#include <doctest/doctest.h>

#include <string>

#include "core/proto/uri_hosts.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using asmtpd::proto::find_uri_hosts;
using asmtpd::proto::reversed_ipv4;
using asmtpd::proto::uri_unmunge;
using Hosts = std::vector<std::string>;

TEST_CASE("uri_hosts: scheme URIs, any TLD") {
    auto r = find_uri_hosts("Visit https://www.Example.XYZ/path?q=1 or http://user:pw@shop.example.online:8080/x", 100);
    CHECK(r.hosts == Hosts{"www.example.xyz", "shop.example.online"});
    CHECK(r.ipv4.empty());
    CHECK_FALSE(r.truncated);
    CHECK(find_uri_hosts("<a href=\"http://spam.example.shop\">x</a>", 100).hosts == Hosts{"spam.example.shop"});
    CHECK(find_uri_hosts("ftp://files.example.com/", 100).hosts == Hosts{"files.example.com"});
}

TEST_CASE("uri_hosts: bare domains as qpsmtpd's pattern") {
    CHECK(find_uri_hosts("see www.example.com, or mail joe@example.org.", 100).hosts ==
          Hosts{"www.example.com", "example.org"});
    CHECK(find_uri_hosts("at shop.example.co.uk today", 100).hosts == Hosts{"shop.example.co.uk"});
    CHECK(find_uri_hosts("example.xyz is not a listed TLD without a scheme", 100).hosts.empty());
    CHECK(find_uri_hosts("foo.com-bar and a.b_c", 100).hosts == Hosts{"foo.com"});
    CHECK(find_uri_hosts("example.comx", 100).hosts.empty());     // TLD followed by a word char
    CHECK(find_uri_hosts("example.com_x", 100).hosts.empty());
    CHECK(find_uri_hosts("x.example.com.", 100).hosts == Hosts{"x.example.com"});
    CHECK(find_uri_hosts("version 1.2.3 and 3.14", 100).hosts.empty());
    CHECK(find_uri_hosts("a..example.com", 100).hosts.empty());   // empty label: not a name
    CHECK(find_uri_hosts("dup example.com EXAMPLE.com http://example.com/", 100).hosts == Hosts{"example.com"});
}

TEST_CASE("uri_hosts: addresses") {
    auto r = find_uri_hosts("http://192.0.2.7/x http://0x7f.0.0.01/ http://3232235777/ 10.0.0.1 plain", 100);
    CHECK(r.ipv4 == Hosts{"192.0.2.7", "127.0.0.1", "192.168.1.1"});
    CHECK(r.hosts.empty());
    CHECK(find_uri_hosts("http://999.1.1.1/ http://99999999999/", 100).ipv4.empty());
}

TEST_CASE("uri_hosts: de-obfuscation") {
    CHECK(uri_unmunge("a%2Eb=2Ec&#46;d&#046e;f") == "a.b.c.d.ef");
    CHECK(uri_unmunge("100%") == "100%");
    CHECK(find_uri_hosts("http://spam%2Eexample%2Ecom/", 100).hosts == Hosts{"spam.example.com"});
    CHECK(find_uri_hosts("spam.exa;mple.com", 100).hosts == Hosts{"spam.example.com"});
    CHECK(find_uri_hosts("spam&#46;example&#46;com", 100).hosts == Hosts{"spam.example.com"});
}

TEST_CASE("uri_hosts: the cap") {
    std::string text;
    for (int i = 0; i < 50; ++i) text += "d" + std::to_string(i) + ".example.com ";
    auto r = find_uri_hosts(text, 10);
    CHECK(r.hosts.size() == 10);
    CHECK(r.hosts.front() == "d0.example.com");
    CHECK(r.truncated);
}

TEST_CASE("uri_hosts: nasty input stays linear and finds nothing odd") {
    std::string dots(200000, '.');
    CHECK(find_uri_hosts(dots, 10).hosts.empty());
    std::string labels;
    for (int i = 0; i < 50000; ++i) labels += "a.";
    CHECK(find_uri_hosts(labels, 10).hosts.empty());
    CHECK(find_uri_hosts(std::string(100000, ':') + "/", 10).hosts.empty());
    CHECK(find_uri_hosts(std::string("\0example.com\0", 13), 10).hosts == Hosts{"example.com"});
}

TEST_CASE("uri_hosts: reversed_ipv4") {
    CHECK(reversed_ipv4("192.0.2.7") == "7.2.0.192");
    CHECK(reversed_ipv4("1") == "1");
}

}  // namespace ASMTPD_TEST_UNIT

// uribl_zones_test.cpp - tests core/proto/uribl_zones.cpp: qpsmtpd's uribl_zones lines (zone,
// masks, action) and which A records are matches.
#include <doctest/doctest.h>

#include "core/proto/uribl_zones.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::proto;

TEST_CASE("uribl_zones: lines") {
    std::string err;
    auto z = parse_uribl_zone("multi.uribl.com", &err);
    REQUIRE(z);
    CHECK(z->zone == "multi.uribl.com");
    CHECK(z->mask == 0x00ffffffu);
    CHECK_FALSE(z->action);
    z = parse_uribl_zone("Multi.SURBL.org.  2,8\tdeny", &err);
    REQUIRE(z);
    CHECK(z->zone == "multi.surbl.org");
    CHECK(z->mask == 10);
    CHECK(z->action == UriblAction::Deny);
    z = parse_uribl_zone("ob.surbl.org -1 add-header", &err);
    REQUIRE(z);
    CHECK(z->mask == 0x00ffffffu);
    CHECK(z->action == UriblAction::AddHeader);

    CHECK_FALSE(parse_uribl_zone("multi.uribl.com x", &err));
    CHECK(err == "bad mask 'x'");
    CHECK_FALSE(parse_uribl_zone("multi.uribl.com 2 reject", &err));
    CHECK(err.find("unknown action 'reject'") == 0);
    CHECK_FALSE(parse_uribl_zone("nodot 2", &err));
    CHECK_FALSE(parse_uribl_zone("a..b 2", &err));
    CHECK_FALSE(parse_uribl_zone("a.b 2 deny extra", &err));
    CHECK_FALSE(parse_uribl_zone("a.b 2,,4", &err));
}

TEST_CASE("uribl_zones: files") {
    std::string err;
    auto zs = parse_uribl_zones({"# comment", "", "multi.uribl.com 2", "dbl.example.test 4 log"}, &err);
    REQUIRE(zs.size() == 2);
    CHECK(zs[1].action == UriblAction::Log);
    CHECK(parse_uribl_zones({"ok.example", "bad.example zz"}, &err).empty());
    CHECK(err == "'bad.example zz': bad mask 'zz'");
}

TEST_CASE("uribl_zones: matches") {
    CHECK(uribl_match("127.0.0.2", 2));
    CHECK_FALSE(uribl_match("127.0.0.4", 2));
    CHECK(uribl_match("127.0.0.4", 0x00ffffff));
    CHECK_FALSE(uribl_match("127.0.0.1", 2));
    CHECK_FALSE(uribl_match("127.255.255.254", 0x00ffffff));   // query refused
    CHECK_FALSE(uribl_match("10.0.0.2", 0x00ffffff));          // not a list answer
    CHECK_FALSE(uribl_match("garbage", 0x00ffffff));
    CHECK(to_string(UriblAction::DenySoft) == "denysoft");
    CHECK(uribl_action_from_string("log") == UriblAction::Log);
}

}  // namespace ASMTPD_TEST_UNIT

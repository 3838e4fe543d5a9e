// greylist_test.cpp - tests core/proto/greylist.cpp: the record format, every decision of
// qpsmtpd's greylisting, and the client network of a triplet.
#include "core/proto/greylist.hpp"

#include <doctest/doctest.h>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::proto;

TEST_CASE("greylist record: qpsmtpd's TS:NEW:BLACK:WHITE, strictly") {
    auto r = parse_greylist_record("1700000000:1:2:3");
    REQUIRE(r);
    CHECK(r->ts == 1700000000);
    CHECK(r->new_count == 1);
    CHECK(r->black == 2);
    CHECK(r->white == 3);
    CHECK(format_greylist_record(*r) == "1700000000:1:2:3");
    for (const char* bad : {"", "1:2:3", "1:2:3:4:5", "a:1:1:1", "1::1:1", "1:2:3:", "-1:1:1:1", " 1:1:1:1",
                            "1:1:1:1 ", "99999999999999999999999:1:1:1"})
        CHECK_MESSAGE(!parse_greylist_record(bad), bad);
}

TEST_CASE("greylist decide: new, black, grey -> white, white, and expiry") {
    GreylistTimeouts t{10, 100, 1000};
    auto d = greylist_decide(std::nullopt, 5000, t);
    CHECK_FALSE(d.pass);
    CHECK(std::string(d.state) == "new");
    CHECK(d.next == GreylistRecord{5000, 1, 0, 0});
    CHECK(d.ttl == 100);

    d = greylist_decide(GreylistRecord{5000, 1, 0, 0}, 5009, t);   // before black_timeout
    CHECK_FALSE(d.pass);
    CHECK(std::string(d.state) == "black");
    CHECK(d.next == GreylistRecord{5000, 1, 1, 0});   // the first-seen time stays
    CHECK(d.ttl == 91);

    d = greylist_decide(GreylistRecord{5000, 1, 1, 0}, 5010, t);   // black over, grey window
    CHECK(d.pass);
    CHECK(std::string(d.state) == "grey");
    CHECK(d.next == GreylistRecord{5010, 1, 1, 1});
    CHECK(d.ttl == 1000);

    d = greylist_decide(GreylistRecord{5010, 1, 1, 1}, 5900, t);
    CHECK(d.pass);
    CHECK(std::string(d.state) == "white");
    CHECK(d.next == GreylistRecord{5900, 1, 1, 2});

    d = greylist_decide(GreylistRecord{5010, 1, 1, 1}, 7000, t);   // white expired: new again
    CHECK_FALSE(d.pass);
    CHECK(std::string(d.state) == "new");
    CHECK(d.next == GreylistRecord{7000, 2, 1, 0});

    d = greylist_decide(GreylistRecord{5000, 1, 0, 0}, 5100, t);   // grey window missed: new again
    CHECK_FALSE(d.pass);
    CHECK(std::string(d.state) == "new");
}

TEST_CASE("greylist network: IPv4 /24, IPv6 /64, mapped IPv4 as IPv4") {
    CHECK(greylist_network("192.0.2.77") == "192.0.2.0/24");
    CHECK(greylist_network("::ffff:192.0.2.77") == "192.0.2.0/24");
    CHECK(greylist_network("2001:db8:1:2:3:4:5:6") == "2001:db8:1:2::/64");
    CHECK(greylist_network("192.0.2.77", 32) == "192.0.2.77/32");
    CHECK(greylist_network("not an ip").empty());
    CHECK(greylist_network("").empty());
}

}  // namespace ASMTPD_TEST_UNIT

// address_list_test.cpp - tests plugins/common/address_list.cpp: badmailfrom-format lists.
#include <doctest/doctest.h>

#include "plugins/common/address_list.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using plugins::AddressList;

namespace {
proto::Address addr(const char* local, const char* domain) { return proto::Address{local, domain}; }
}

TEST_CASE("AddressList: patterns, messages, case") {
    auto list = AddressList::parse({"a@example.com", "@Spam.Example go away", "!regex", "postmaster  bare ",
                                    "", "A@EXAMPLE.COM duplicate keeps the first"});
    CHECK(list.size() == 3);
    CHECK(list.skipped() == 1);

    auto* e = list.match(addr("A", "Example.Com"));
    REQUIRE(e);
    CHECK(e->pattern == "a@example.com");
    CHECK(e->message.empty());
    e = list.match(addr("x", "spam.example"));
    REQUIRE(e);
    CHECK(e->message == "go away");
    CHECK(list.match(addr("postmaster", "")));
    CHECK(list.match(addr("POSTMASTER", "")));
    CHECK_FALSE(list.match(addr("postmaster", "example.com")));
    CHECK_FALSE(list.match(addr("x", "sub.spam.example")));
    CHECK_FALSE(list.match(addr("b", "example.com")));
    CHECK_FALSE(list.match(addr("a", "example.co")));
    CHECK_FALSE(list.match(addr("", "")));   // null sender
}

TEST_CASE("AddressList: the earlier line wins between address and domain") {
    auto l1 = AddressList::parse({"@x.example first", "u@x.example second"});
    REQUIRE(l1.match(addr("u", "x.example")));
    CHECK(l1.match(addr("u", "x.example"))->message == "first");
    auto l2 = AddressList::parse({"u@x.example first", "@x.example second"});
    CHECK(l2.match(addr("u", "x.example"))->message == "first");
    CHECK(l2.match(addr("v", "x.example"))->message == "second");
}

TEST_CASE("AddressList: empty list matches nothing") {
    AddressList none;
    CHECK(none.empty());
    CHECK_FALSE(none.match(addr("a", "b")));
}

}  // namespace ASMTPD_TEST_UNIT

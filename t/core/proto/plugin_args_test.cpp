// plugin_args_test.cpp - tests core/proto/plugin_args.cpp: key/value pairs, counts, seconds.
#include <doctest/doctest.h>

#include "core/proto/plugin_args.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::proto;

TEST_CASE("ArgPairs: known keys, values, errors") {
    ArgPairs p;
    CHECK_FALSE(p.parse({"wait", "2", "action", "log"}, {"wait", "action"}));
    CHECK(p.get("wait") == "2");
    CHECK(p.get("action") == "log");
    CHECK_FALSE(p.get("other"));
    CHECK(p.has("wait"));

    ArgPairs empty;
    CHECK_FALSE(empty.parse({}, {"wait"}));
    CHECK_FALSE(empty.has("wait"));

    CHECK(ArgPairs().parse({"wiat", "2"}, {"wait"})->find("wiat") != std::string::npos);
    CHECK(ArgPairs().parse({"wait"}, {"wait"})->find("needs a value") != std::string::npos);
    CHECK(ArgPairs().parse({"wait", "1", "wait", "2"}, {"wait"})->find("twice") != std::string::npos);
    CHECK(ArgPairs().parse({"1"}, {"wait"}));
    CHECK(ArgPairs().parse({"WAIT", "1"}, {"wait"}));   // keys are case-sensitive, like qpsmtpd
}

TEST_CASE("parse_count: digits only, no overflow") {
    CHECK(parse_count("0") == 0u);
    CHECK(parse_count("4") == 4u);
    CHECK(parse_count("007") == 7u);
    CHECK(parse_count("18446744073709551615") == 18446744073709551615ull);
    CHECK_FALSE(parse_count("18446744073709551616"));
    CHECK_FALSE(parse_count("99999999999999999999999"));
    for (const char* bad : {"", "-1", "+1", " 1", "1 ", "1.0", "0x10", "1e3", "abc"}) {
        CAPTURE(bad);
        CHECK_FALSE(parse_count(bad));
    }
}

TEST_CASE("parse_seconds_ms: whole and fractional seconds") {
    CHECK(parse_seconds_ms("1") == 1000u);
    CHECK(parse_seconds_ms("0") == 0u);
    CHECK(parse_seconds_ms("0.5") == 500u);
    CHECK(parse_seconds_ms(".25") == 250u);
    CHECK(parse_seconds_ms("2.125") == 2125u);
    CHECK(parse_seconds_ms("2.1259") == 2125u);   // below a millisecond is dropped
    CHECK(parse_seconds_ms("86400") == 86400000u);
    CHECK_FALSE(parse_seconds_ms("86400.001"));
    CHECK_FALSE(parse_seconds_ms("9999999"));
    for (const char* bad : {"", ".", "1.", "-1", "+1", "1e3", "1.2.3", "1,5", " 1", "inf", "nan", "0x1"}) {
        CAPTURE(bad);
        CHECK_FALSE(parse_seconds_ms(bad));
    }
}

TEST_CASE("split_first_word") {
    auto [a, b] = split_first_word("  addr@x   the rest  here \t");
    CHECK(a == "addr@x");
    CHECK(b == "the rest  here");
    auto [c, d] = split_first_word("single");
    CHECK(c == "single");
    CHECK(d.empty());
    auto [e, f] = split_first_word("   ");
    CHECK(e.empty());
    CHECK(f.empty());
    auto [g, h] = split_first_word("x\ty");
    CHECK(g == "x");
    CHECK(h == "y");
}

}  // namespace ASMTPD_TEST_UNIT

// prom_text_test.cpp - tests core/proto/prom_text.cpp: escaping of label values and HELP
// text, number forms, family headers, and cumulative histogram buckets.
#include "core/proto/prom_text.hpp"

#include <doctest/doctest.h>

#include <array>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::proto;

TEST_CASE("prom text: label values escape backslash, quote and line feed") {
    CHECK(prom_escape_label("plain") == "plain");
    CHECK(prom_escape_label("a\\b") == "a\\\\b");
    CHECK(prom_escape_label("say \"hi\"") == "say \\\"hi\\\"");
    CHECK(prom_escape_label("two\nlines") == "two\\nlines");
    CHECK(prom_escape_help("quote \" stays; \\ and \n do not") == "quote \" stays; \\\\ and \\n do not");
}

TEST_CASE("prom text: metric and label names") {
    CHECK(valid_metric_name("asmtpd_sessions_total"));
    CHECK(valid_metric_name("a:b"));
    CHECK_FALSE(valid_metric_name("1abc"));
    CHECK_FALSE(valid_metric_name(""));
    CHECK_FALSE(valid_metric_name("a-b"));
    CHECK(valid_label_name("le"));
    CHECK_FALSE(valid_label_name("a:b"));
}

TEST_CASE("prom text: numbers") {
    CHECK(prom_number(0) == "0");
    CHECK(prom_number(42) == "42");
    CHECK(prom_number(0.0005) == "0.0005");
    CHECK(prom_number(2.5) == "2.5");
    CHECK(prom_number(1.0 / 0.0) == "+Inf");
    CHECK(prom_number(-1.0 / 0.0) == "-Inf");
}

TEST_CASE("prom text: a family with labelled samples") {
    PromText t;
    t.family("x_total", "counter", "Things.\nMore");
    const PromLabel l[] = {{"plugin", "odd\"name"}, {"hook", "rcpt"}};
    t.sample("x_total", l, std::uint64_t{7});
    t.sample("y", std::uint64_t{3});
    CHECK(t.text() ==
          "# HELP x_total Things.\\nMore\n# TYPE x_total counter\n"
          "x_total{plugin=\"odd\\\"name\",hook=\"rcpt\"} 7\n"
          "y 3\n");
}

TEST_CASE("prom text: histogram buckets are cumulative and end at +Inf = count") {
    PromText t;
    const std::array<double, 3> bounds{0.1, 1, 10};
    const std::array<std::uint64_t, 3> counts{2, 0, 3};
    const PromLabel l[] = {{"hook", "rcpt"}};
    t.histogram("h_seconds", l, bounds, counts, 6, 12.5);
    CHECK(t.text() ==
          "h_seconds_bucket{hook=\"rcpt\",le=\"0.1\"} 2\n"
          "h_seconds_bucket{hook=\"rcpt\",le=\"1\"} 2\n"
          "h_seconds_bucket{hook=\"rcpt\",le=\"10\"} 5\n"
          "h_seconds_bucket{hook=\"rcpt\",le=\"+Inf\"} 6\n"
          "h_seconds_sum{hook=\"rcpt\"} 12.5\n"
          "h_seconds_count{hook=\"rcpt\"} 6\n");
}

TEST_CASE("prom text: a bucket never exceeds the count (a torn read of the shared counters)") {
    PromText t;
    const std::array<double, 1> bounds{1};
    const std::array<std::uint64_t, 1> counts{5};
    t.histogram("h", {}, bounds, counts, 4, 1);
    CHECK(t.text().find("h_bucket{le=\"1\"} 4\n") != std::string::npos);
}

}  // namespace ASMTPD_TEST_UNIT

// header_collector_test.cpp - tests plugins/dkim/header_collector.cpp: the header block found
// whatever the chunking (the empty line split across chunks), a content that starts with the
// empty line, one without any, and the size cap.
#include "plugins/dkim/header_collector.hpp"

#include <doctest/doctest.h>

#include <string>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using asmtpd::plugins::dkim::HeaderCollector;

namespace {

// Feeds `content` in chunks of `chunk`; returns (block, body bytes seen).
std::pair<std::string, std::string> collect(std::string_view content, std::size_t chunk, std::size_t cap = 1000) {
    HeaderCollector h(cap);
    std::string body;
    for (std::size_t at = 0; at < content.size(); at += chunk) {
        const auto bytes = content.substr(at, chunk);
        if (h.state() == HeaderCollector::State::Complete) {
            body.append(bytes);
        } else if (auto rest = h.feed(bytes)) {
            body.append(*rest);
        }
    }
    h.finish();
    REQUIRE(h.state() == HeaderCollector::State::Complete);
    return {std::string(h.block()), body};
}

}  // namespace

TEST_CASE("header collector: the block and the body, whatever the chunking") {
    const std::string m = "From: a@example.net\r\nSubject: x\r\n y\r\n\r\nbody\r\n\r\nmore\r\n";
    for (std::size_t chunk = 1; chunk <= m.size(); ++chunk) {
        CAPTURE(chunk);
        auto [block, body] = collect(m, chunk);
        CHECK(block == "From: a@example.net\r\nSubject: x\r\n y\r\n");
        CHECK(body == "body\r\n\r\nmore\r\n");
    }
}

TEST_CASE("header collector: no header at all; no empty line; over the cap") {
    for (std::size_t chunk : {std::size_t(1), std::size_t(64)}) {
        auto [block, body] = collect("\r\nonly body\r\n", chunk);
        CHECK(block.empty());
        CHECK(body == "only body\r\n");
        auto [all, none] = collect("From: a@example.net\r\nSubject: x\r\n", chunk);
        CHECK(all == "From: a@example.net\r\nSubject: x\r\n");
        CHECK(none.empty());
    }
    HeaderCollector h(10);
    CHECK_FALSE(h.feed("From: a@example.net\r\n"));
    CHECK(h.state() == HeaderCollector::State::TooLarge);
    CHECK_FALSE(h.feed("\r\n"));   // ignored once given up
    h.finish();
    CHECK(h.state() == HeaderCollector::State::TooLarge);
    h.release();
    CHECK(h.held().empty());
}

}  // namespace ASMTPD_TEST_UNIT

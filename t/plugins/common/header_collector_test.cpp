// header_collector_test.cpp - tests plugins/common/header_collector.cpp: the header block found
// whatever the chunking (the empty line split across chunks), a content that starts with the
// empty line, one without any, and the size cap.
#include "plugins/common/header_collector.hpp"

#include <doctest/doctest.h>

#include <random>
#include <string>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using asmtpd::plugins::HeaderCollector;

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

TEST_CASE("header collector: only the header is kept; the body is a view into the chunk") {
    const std::string head = "From: a@example.net\r\n";
    const std::string chunk = head + "\r\nbody\r\n";
    HeaderCollector h(1000);
    const auto body = h.feed(chunk);
    REQUIRE(body);
    CHECK(body->data() == chunk.data() + head.size() + 2);
    CHECK(*body == "body\r\n");
    CHECK(h.held() == head);
    CHECK(h.held().capacity() < chunk.size() + 64);   // never held the body
    CHECK(h.take_block() == head);
}

// The block and body split the same way as a search over the whole content, for random
// contents made of the characters that matter and random chunkings.
TEST_CASE("header collector: random contents and chunkings agree with a whole-text search") {
    std::mt19937 rng(12345);
    const char alphabet[] = {'\r', '\n', 'a', ' '};
    for (int round = 0; round < 3000; ++round) {
        std::string content;
        const int n = static_cast<int>(rng() % 24);
        for (int i = 0; i < n; ++i) content += alphabet[rng() % 4];
        std::string block = content, body;
        if (content.rfind("\r\n", 0) == 0) {
            block.clear();
            body = content.substr(2);
        } else if (auto at = content.find("\r\n\r\n"); at != std::string::npos) {
            block = content.substr(0, at + 2);
            body = content.substr(at + 4);
        }
        HeaderCollector h(1000);
        std::string seen;
        for (std::size_t at = 0; at < content.size();) {
            const std::size_t len = 1 + rng() % 6;
            const std::string piece = content.substr(at, len);   // a copy: views must not outlive it
            at += len;
            if (h.state() == HeaderCollector::State::Complete) {
                seen += piece;
            } else if (auto rest = h.feed(piece)) {
                seen += *rest;
            }
        }
        h.finish();
        CAPTURE(content);
        CHECK(std::string(h.block()) == block);
        CHECK(seen == body);
    }
}

}  // namespace ASMTPD_TEST_UNIT

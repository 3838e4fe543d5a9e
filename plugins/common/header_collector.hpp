// header_collector.hpp - keeps the header block of a message that streams in, in chunks of any
// size, until the empty line that ends it (RFC 5322 §2.1); what follows is the body.
//
// Shared by the plugins that read the header block as it arrives: dkim's verifying and signing
// observers, and dmarc's. The empty line may straddle chunks; a content that starts with it has
// an empty header block; a content without one is all header (the body is empty). Only header
// bytes are copied: the body bytes of the chunk that completes the block are handed back as a
// view into that chunk (a 10 KB message usually arrives as one chunk, and copying it whole
// for each observer was a measured cost on the loop, bench load (j)). Memory is bounded: past
// max_bytes without the empty line the collector gives up (TooLarge).
// Pure: no I/O, no logging. Runs on the loop thread.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace asmtpd::plugins {

class HeaderCollector {
public:
    enum class State { Collecting, Complete, TooLarge };

    explicit HeaderCollector(std::size_t max_bytes) : max_bytes_(max_bytes) {}

    // The next bytes of the content, while Collecting. On the call that completes the block,
    // returns the body bytes that came with it (possibly empty): a view into `bytes`, so valid
    // as long as they are; otherwise nullopt.
    std::optional<std::string_view> feed(std::string_view bytes);
    // The content ended: a block still being collected is complete (all of it is header).
    void finish();

    State state() const { return state_; }
    // Once Complete: the header lines, each with its CRLF, without the empty line.
    std::string_view block() const { return held_; }
    // Everything kept so far (TooLarge: the first max_bytes and more, to look into).
    const std::string& held() const { return held_; }
    // Frees the memory (block() and held() are empty afterwards).
    void release();
    // Once Complete: the block, moved out (no copy); the collector is released.
    std::string take_block();

private:
    // Where the empty line's CRLF CRLF starts, counting held_ and then `bytes` as one text;
    // npos when it is not there yet. held_ never holds it whole (it would have ended the block).
    std::size_t find_end(std::string_view bytes) const;

    std::size_t max_bytes_;
    State state_ = State::Collecting;
    std::string held_;
};

}  // namespace asmtpd::plugins

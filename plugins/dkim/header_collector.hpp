// header_collector.hpp - keeps the header block of a message that streams in, in chunks of any
// size, until the empty line that ends it (RFC 5322 §2.1); what follows is the body.
//
// Shared by the dkim plugin's verifying observer (dkim_observer) and signing observer
// (sign_observer). The empty line may straddle chunks; a content that starts with it has an
// empty header block; a content without one is all header (the body is empty). Memory is
// bounded: past max_bytes without the empty line the collector gives up (TooLarge).
// Pure: no I/O, no logging. Runs on the loop thread.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace asmtpd::plugins::dkim {

class HeaderCollector {
public:
    enum class State { Collecting, Complete, TooLarge };

    explicit HeaderCollector(std::size_t max_bytes) : max_bytes_(max_bytes) {}

    // The next bytes of the content, while Collecting. On the call that completes the block,
    // returns the body bytes that came with it (possibly empty; valid until the next call on
    // this collector); otherwise nullopt.
    std::optional<std::string_view> feed(std::string_view bytes);
    // The content ended: a block still being collected is complete (all of it is header).
    void finish();

    State state() const { return state_; }
    // Once Complete: the header lines, each with its CRLF, without the empty line.
    std::string_view block() const { return std::string_view(held_).substr(0, block_end_); }
    // Everything kept so far (TooLarge: the first max_bytes and more, to look into).
    const std::string& held() const { return held_; }
    // Frees the memory (block() and held() are empty afterwards).
    void release();
    // Once Complete: the block, moved out (no copy); the collector is released.
    std::string take_block();
    // Once Complete: drops the body bytes kept after the block (block() stays).
    void keep_block_only() { held_.resize(block_end_); }

private:
    std::size_t max_bytes_;
    State state_ = State::Collecting;
    std::string held_;
    std::size_t block_end_ = 0;
};

}  // namespace asmtpd::plugins::dkim

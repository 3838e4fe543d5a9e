// header_collector.cpp - the header block of a streaming message (see header_collector.hpp).
#include "plugins/dkim/header_collector.hpp"

namespace asmtpd::plugins::dkim {

std::optional<std::string_view> HeaderCollector::feed(std::string_view bytes) {
    if (state_ != State::Collecting) return std::nullopt;
    // The empty line may straddle chunks: search from 3 bytes before the new ones.
    const std::size_t from = held_.size() >= 3 ? held_.size() - 3 : 0;
    held_.append(bytes);
    std::size_t body_at = std::string::npos;
    if (held_.size() >= 2 && held_[0] == '\r' && held_[1] == '\n') {
        block_end_ = 0;   // no header at all: the content starts with the empty line
        body_at = 2;
    } else if (auto at = held_.find("\r\n\r\n", from); at != std::string::npos) {
        block_end_ = at + 2;
        body_at = at + 4;
    }
    if (body_at == std::string::npos) {
        if (held_.size() > max_bytes_) state_ = State::TooLarge;
        return std::nullopt;
    }
    state_ = State::Complete;
    return std::string_view(held_).substr(body_at);
}

void HeaderCollector::finish() {
    if (state_ != State::Collecting) return;
    block_end_ = held_.size();
    state_ = State::Complete;
}

std::string HeaderCollector::take_block() {
    held_.resize(block_end_);
    std::string out = std::move(held_);
    release();
    return out;
}

void HeaderCollector::release() {
    held_ = std::string();
    block_end_ = 0;
}

}  // namespace asmtpd::plugins::dkim

// header_collector.cpp - the header block of a streaming message (see header_collector.hpp).
#include "plugins/common/header_collector.hpp"

#include <algorithm>

namespace asmtpd::plugins {

namespace {
constexpr std::string_view kEnd = "\r\n\r\n";
constexpr std::size_t npos = std::string_view::npos;
}  // namespace

std::size_t HeaderCollector::find_end(std::string_view bytes) const {
    // The first three bytes of the end may already be held: try the longest overlap first,
    // since it starts earliest.
    for (std::size_t k = std::min<std::size_t>(3, held_.size()); k > 0; --k) {
        if (bytes.size() >= kEnd.size() - k && std::string_view(held_).substr(held_.size() - k) == kEnd.substr(0, k) &&
            bytes.substr(0, kEnd.size() - k) == kEnd.substr(k))
            return held_.size() - k;
    }
    const std::size_t at = bytes.find(kEnd);
    return at == npos ? npos : held_.size() + at;
}

std::optional<std::string_view> HeaderCollector::feed(std::string_view bytes) {
    if (state_ != State::Collecting) return std::nullopt;
    const std::size_t before = held_.size();   // offsets below count held_, then bytes
    auto at = [&](std::size_t i) { return i < before ? held_[i] : bytes[i - before]; };
    // A content that starts with the empty line has no header (its CRLF may be split too).
    if (before < 2 && before + bytes.size() >= 2 && at(0) == '\r' && at(1) == '\n') {
        held_.clear();
        state_ = State::Complete;
        return bytes.substr(2 - before);
    }
    const std::size_t end = find_end(bytes);
    if (end == npos) {
        held_.append(bytes);
        if (held_.size() > max_bytes_) state_ = State::TooLarge;
        return std::nullopt;
    }
    // The block keeps the first CRLF of the end; the body starts after the second.
    const std::size_t block_end = end + 2, body_at = end + 4;
    if (block_end <= before)
        held_.resize(block_end);
    else
        held_.append(bytes.substr(0, block_end - before));
    state_ = State::Complete;
    return bytes.substr(body_at - before);
}

void HeaderCollector::finish() {
    if (state_ != State::Collecting) return;
    state_ = State::Complete;
}

std::string HeaderCollector::take_block() {
    std::string out = std::move(held_);
    release();
    return out;
}

void HeaderCollector::release() { held_ = std::string(); }

}  // namespace asmtpd::plugins

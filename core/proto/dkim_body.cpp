// dkim_body.cpp - streaming body canonicalization (RFC 6376 §3.4.3-§3.4.5).
#include "core/proto/dkim_body.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace asmtpd::proto::dkim {

namespace {
constexpr bool is_wsp(char c) { return c == ' ' || c == '\t'; }
constexpr std::string_view kCrlf = "\r\n";
constexpr std::size_t kFlushAt = 16 * 1024;

constexpr std::uint64_t kLow7 = 0x7F7F7F7F7F7F7F7FULL;
constexpr std::uint64_t repeat(unsigned char c) { return 0x0101010101010101ULL * c; }

// 0x80 in each byte of x that is zero, exactly (no borrow between bytes, unlike the classic
// "has a zero byte" test).
constexpr std::uint64_t zero_bytes(std::uint64_t x) { return ~(((x & kLow7) + kLow7) | x | kLow7); }

std::uint64_t load8(const char* p) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    return w;
}

// True when the relaxed form differs from `line` (which has no trailing WSP): it holds a tab
// or two spaces in a row. Eight bytes at a time: the byte loop cost 3 cycles a byte.
bool needs_rewrite(std::string_view line) {
    const char* p = line.data();
    const std::size_t n = line.size();
    std::size_t i = 0;
    for (; i + 9 <= n; i += 8) {
        const std::uint64_t w = load8(p + i), next = load8(p + i + 1);
        if ((zero_bytes(w ^ repeat('\t')) | (zero_bytes(w ^ repeat(' ')) & zero_bytes(next ^ repeat(' ')))) != 0)
            return true;
    }
    for (; i < n; ++i)
        if (p[i] == '\t' || (p[i] == ' ' && i + 1 < n && p[i + 1] == ' ')) return true;
    return false;
}
}  // namespace

BodyCanonicalizer::BodyCanonicalizer(Canon canon, std::optional<std::uint64_t> limit, Sink sink)
    : canon_(canon), limit_(limit), sink_(std::move(sink)) {}

void BodyCanonicalizer::emit(std::string_view bytes) {
    produced_ += bytes.size();
    if (limit_) {
        if (hashed_ >= *limit_) return;
        bytes = bytes.substr(0, std::size_t(std::min<std::uint64_t>(bytes.size(), *limit_ - hashed_)));
    }
    hashed_ += bytes.size();
    out_.append(bytes);
    // One hash update per few KB, not two per line: each update costs more than the bytes.
    if (out_.size() >= kFlushAt) flush();
}

void BodyCanonicalizer::flush() {
    if (out_.empty()) return;
    sink_(out_);
    out_.clear();
}

// Most lines need no change beyond losing their trailing WSP (no tab, no run of spaces), and
// then the line is passed on as it is: copying every byte through a rewriting loop cost
// three times the SHA-256 of the same bytes (bench load (j)).
std::string_view BodyCanonicalizer::relax(std::string_view line) {
    std::size_t end = line.size();
    while (end > 0 && is_wsp(line[end - 1])) --end;
    line = line.substr(0, end);
    if (!needs_rewrite(line)) return line;
    relaxed_line_.clear();
    bool space = false;
    for (const char c : line) {
        if (is_wsp(c)) {
            space = true;
            continue;
        }
        if (space) relaxed_line_ += ' ';
        space = false;
        relaxed_line_ += c;
    }
    return relaxed_line_;
}

void BodyCanonicalizer::end_line(std::string_view line) {
    if (canon_ == Canon::Relaxed) line = relax(line);
    if (line.empty()) {
        ++pending_empty_;
        return;
    }
    for (; pending_empty_ > 0; --pending_empty_) emit(kCrlf);
    emit(line);
    emit(kCrlf);
}

void BodyCanonicalizer::feed(std::string_view chunk) {
    if (finished_) return;
    while (!chunk.empty()) {
        // A CR that ended the previous chunk and the LF that starts this one.
        if (!partial_.empty() && partial_.back() == '\r' && chunk.front() == '\n') {
            partial_.pop_back();
            end_line(partial_);
            partial_.clear();
            chunk.remove_prefix(1);
            continue;
        }
        const auto crlf = chunk.find(kCrlf);
        if (crlf == std::string_view::npos) {
            partial_.append(chunk);
            return;
        }
        if (partial_.empty()) {
            end_line(chunk.substr(0, crlf));
        } else {
            partial_.append(chunk.substr(0, crlf));
            end_line(partial_);
            partial_.clear();
        }
        chunk.remove_prefix(crlf + 2);
    }
}

void BodyCanonicalizer::finish() {
    if (finished_) return;
    finished_ = true;
    if (!partial_.empty()) {
        std::string last = std::move(partial_);
        partial_.clear();
        end_line(last);
    }
    // simple: an empty body (or one of only empty lines) is a single CRLF (§3.4.3).
    if (canon_ == Canon::Simple && produced_ == 0) emit(kCrlf);
    flush();
}

std::string canonicalize_body(Canon canon, std::string_view body) {
    std::string out;
    BodyCanonicalizer c(canon, std::nullopt, [&out](std::string_view bytes) { out.append(bytes); });
    c.feed(body);
    c.finish();
    return out;
}

}  // namespace asmtpd::proto::dkim

// dkim_body.cpp - streaming body canonicalization (RFC 6376 §3.4.3-§3.4.5).
#include "core/proto/dkim_body.hpp"

#include <algorithm>

namespace asmtpd::proto::dkim {

namespace {
constexpr bool is_wsp(char c) { return c == ' ' || c == '\t'; }
constexpr std::string_view kCrlf = "\r\n";
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
    if (!bytes.empty()) sink_(bytes);
}

void BodyCanonicalizer::end_line(std::string_view line) {
    if (canon_ == Canon::Relaxed) {
        relaxed_line_.clear();
        bool space = false;
        for (char c : line) {
            if (is_wsp(c)) {
                space = true;
                continue;
            }
            if (space) relaxed_line_ += ' ';
            space = false;
            relaxed_line_ += c;
        }
        line = relaxed_line_;   // WSP at the end of the line is simply never written
    }
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
}

std::string canonicalize_body(Canon canon, std::string_view body) {
    std::string out;
    BodyCanonicalizer c(canon, std::nullopt, [&out](std::string_view bytes) { out.append(bytes); });
    c.feed(body);
    c.finish();
    return out;
}

}  // namespace asmtpd::proto::dkim

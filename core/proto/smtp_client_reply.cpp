// smtp_client_reply.cpp - incremental parser for a next hop's replies (see the header).
//
// Must never: accept a line whose code differs from the reply's first line (a stream out of
// step with our commands would attribute a reply to the wrong command), grow its buffer past
// one over-long line, or turn a Malformed stream back into replies. Input is compacted when
// more than half of the buffer has been consumed, so memory stays proportional to one reply.
#include "core/proto/smtp_client_reply.hpp"

#include <fmt/format.h>

namespace asmtpd::proto {

namespace {

bool digit(char c, char lo, char hi) { return c >= lo && c <= hi; }

// A short, printable excerpt of a bad line for the error text.
std::string excerpt(std::string_view line) {
    std::string out;
    for (char c : line.substr(0, 40)) {
        auto u = static_cast<unsigned char>(c);
        out += (u >= 0x20 && u < 0x7f) ? c : '?';
    }
    if (line.size() > 40) out += "...";
    return out;
}

}  // namespace

void split_esc(int code, std::string_view line, std::string& esc, std::string& text) {
    // class "." 1*3digit "." 1*3digit, then a space or the end of the line
    std::size_t end = line.find(' ');
    std::string_view word = line.substr(0, end);
    if (word.size() >= 5 && word.size() <= 9 && esc_matches(word, code)) {
        esc.assign(word);
        text.assign(end == std::string_view::npos ? std::string_view() : line.substr(end + 1));
        return;
    }
    esc.clear();
    text.assign(line);
}

void ClientReplyParser::feed(std::string_view bytes) {
    if (!error_.empty()) return;
    if (pos_ > 0 && pos_ * 2 >= buf_.size()) {
        buf_.erase(0, pos_);
        pos_ = 0;
    }
    buf_.append(bytes);
}

void ClientReplyParser::clear() {
    buf_.clear();
    pos_ = 0;
    partial_ = Reply{};
    partial_bytes_ = 0;
}

ClientReplyParser::Event ClientReplyParser::fail(std::string why) {
    error_ = std::move(why);
    buf_.clear();
    pos_ = 0;
    return {Status::Malformed, {}, error_};
}

ClientReplyParser::Event ClientReplyParser::next() {
    if (!error_.empty()) return {Status::Malformed, {}, error_};
    while (true) {
        std::string_view rest(buf_.data() + pos_, buf_.size() - pos_);
        std::size_t lf = rest.find('\n');
        if (lf == std::string_view::npos) {
            if (rest.size() >= limits_.max_line) return fail(fmt::format("reply line longer than {} octets", limits_.max_line));
            return {};
        }
        if (lf + 1 > limits_.max_line) return fail(fmt::format("reply line longer than {} octets", limits_.max_line));
        std::string_view line = rest.substr(0, lf);
        pos_ += lf + 1;
        partial_bytes_ += lf + 1;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);

        if (line.size() < 3 || !digit(line[0], '2', '5') || !digit(line[1], '0', '5') || !digit(line[2], '0', '9'))
            return fail("malformed reply line: \"" + excerpt(line) + "\"");
        const int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
        bool last = true;
        std::string_view text;
        if (line.size() > 3) {
            if (line[3] == '-') last = false;
            else if (line[3] != ' ') return fail("malformed reply line: \"" + excerpt(line) + "\"");
            text = line.substr(4);
        }
        if (partial_.code != 0 && code != partial_.code)
            return fail(fmt::format("reply code changed from {} to {} inside one reply", partial_.code, code));
        partial_.code = code;
        partial_.lines.emplace_back(text);
        if (partial_.lines.size() > limits_.max_lines) return fail(fmt::format("reply of more than {} lines", limits_.max_lines));
        if (partial_bytes_ > limits_.max_bytes) return fail(fmt::format("reply longer than {} octets", limits_.max_bytes));
        if (!last) continue;

        Reply done = std::move(partial_);
        partial_ = Reply{};
        partial_bytes_ = 0;
        std::string esc, body;
        split_esc(done.code, done.lines.front(), esc, body);
        if (!esc.empty()) {
            done.esc = esc;
            done.lines.front() = body;
            const std::string prefix = esc + ' ';
            for (std::size_t i = 1; i < done.lines.size(); ++i) {
                std::string& l = done.lines[i];
                if (l == esc) l.clear();
                else if (l.compare(0, prefix.size(), prefix) == 0) l.erase(0, prefix.size());
            }
        }
        return {Status::Complete, std::move(done), {}};
    }
}

}  // namespace asmtpd::proto

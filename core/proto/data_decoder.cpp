// data_decoder.cpp - DATA end-of-data detection and dot-unstuffing (contract in data_decoder.hpp).
//
// Security critical (SMTP smuggling, RELIABILITY §2 and P3): the ONLY end of data is
// CRLF "." CRLF, where the first CRLF is a real one (or the one that ended the DATA command).
// A bare LF or bare CR never starts a line that could end the data. All state lives in
// state_, so every way of splitting the input gives the same output, flags and consumed count.
// The decoder must never stop counting or scanning when the size limit is hit: the session
// still needs the strict end to resynchronise. Pure: no I/O, no logging.
#include "core/proto/data_decoder.hpp"
#include "core/proto/text.hpp"

#include <algorithm>

namespace asmtpd::proto {

void DataDecoder::emit(std::string& out, std::string_view bytes) {
    if (size_ < limits_.max_bytes) {
        const std::uint64_t room = limits_.max_bytes - size_;
        out.append(bytes.data(), static_cast<std::size_t>(std::min<std::uint64_t>(room, bytes.size())));
    }
    size_ += bytes.size();
    line_len_ += bytes.size();
    if (limits_.max_line != 0 && line_len_ > limits_.max_line) long_line_ = true;
}

void DataDecoder::bare_lf(std::string& out) {
    bare_ = true;
    emit(out, limits_.bare_lf == BareLfPolicy::Normalize ? std::string_view("\r\n") : std::string_view("\n"));
    line_len_ = 0;
    state_ = State::LineStartSoft;  // whatever follows can never be the end-of-data line
}

std::size_t DataDecoder::feed(std::string_view in, std::string& out) {
    std::size_t i = 0;
    const std::size_t n = in.size();
    // Each case either consumes a byte (++i) or changes state and lets the next state look
    // at the same byte ("reprocess"); no state reprocesses into itself, so this terminates.
    while (i < n && state_ != State::Done) {
        const char c = in[i];
        switch (state_) {
            case State::LineStart:
                if (!limits_.dot_stuffed) {
                    state_ = State::Mid;
                } else if (c == '.') {
                    state_ = State::Dot;
                    ++i;
                } else {
                    state_ = State::Mid;
                }
                break;
            case State::LineStartSoft:
                if (c == '.' && limits_.dot_stuffed) ++i;  // unstuffed like any line, but it cannot end the data
                state_ = State::Mid;
                break;
            case State::Dot:
                // "." then anything but CR: the dot was stuffing; the byte belongs to the line.
                if (c == '\r') {
                    state_ = State::DotCr;
                    ++i;
                } else {
                    state_ = State::Mid;
                }
                break;
            case State::DotCr:
                if (c == '\n') {
                    state_ = State::Done;
                    ++i;
                } else {
                    // ".\r" + not-LF: a line holding a bare CR, e.g. the "\r\n.\r" smuggle.
                    bare_ = true;
                    emit(out, "\r");
                    state_ = State::Mid;
                }
                break;
            case State::Mid: {
                auto j = find_cr_or_lf(in, i);
                const std::size_t end = j == std::string_view::npos ? n : j;
                if (end > i) emit(out, in.substr(i, end - i));
                i = end;
                if (i == n) break;
                if (in[i] == '\r') {
                    state_ = State::MidCr;  // held back: CRLF or bare CR depends on the next byte
                } else {
                    bare_lf(out);
                }
                ++i;
                break;
            }
            case State::MidCr:
                if (c == '\n') {
                    emit(out, "\r\n");
                    line_len_ = 0;
                    state_ = State::LineStart;
                    ++i;
                } else {
                    bare_ = true;  // bare CR: passed through, never a line end
                    emit(out, "\r");
                    state_ = State::Mid;
                }
                break;
            case State::Done:
                break;
        }
    }
    return i;
}

void DataDecoder::end_chunks(std::string& out) {
    if (state_ == State::MidCr) {
        bare_ = true;
        emit(out, "\r");
    }
    state_ = State::Done;
}

}  // namespace asmtpd::proto

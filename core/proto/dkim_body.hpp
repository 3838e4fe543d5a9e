// dkim_body.hpp - streaming DKIM body canonicalization (RFC 6376 §3.4.3 simple, §3.4.4
// relaxed, §3.4.5 l=), for hashing the body as it arrives, never from a second read.
//
// feed() takes the body (the octets after the header's empty line, dot-unstuffed, CRLF
// lines) in chunks split anywhere, a CRLF across two chunks included; finish() ends it.
// The canonical bytes go to the sink in batches of a few KB and at finish(), so the caller hashes them
// (core/io/dkim_crypto's Sha256) and this layer stays free of OpenSSL.
//   simple:  lines unchanged; the empty lines at the end are dropped; an empty body
//            becomes one CRLF.
//   relaxed: WSP at line ends removed, WSP runs inside a line turned into one SP; the
//            empty lines at the end are dropped; an empty body stays empty.
//   both:    a last line without CRLF gets one. Only CRLF ends a line: a bare CR or LF is
//            line content.
// With a limit (l=) the sink receives only the first `limit` canonical octets, but
// canonical_length() keeps counting so the caller can see a body shorter than l= (§3.5 l=,
// which the verifier treats as a failure) and how much text was appended after it.
// Trailing empty lines are held back until a non-empty line follows, so memory stays
// bounded by one line, the batch and a counter. Lines that canonicalization leaves as they
// are (most of them) reach the sink as runs of the chunk itself, never copied: on a 10 KB
// body the per-line copy and calls cost more than the SHA-256 (bench load (j)).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/proto/dkim_signature.hpp"

namespace asmtpd::proto::dkim {

class BodyCanonicalizer {
public:
    using Sink = std::function<void(std::string_view)>;

    BodyCanonicalizer(Canon canon, std::optional<std::uint64_t> limit, Sink sink);

    void feed(std::string_view chunk);
    // Ends the body: flushes the last line. Calling feed() afterwards is a logic error (ignored).
    void finish();

    // Canonical octets of the whole body so far (not capped by the limit).
    std::uint64_t canonical_length() const { return produced_; }
    // Octets given to the sink (at most the limit).
    std::uint64_t hashed_length() const { return hashed_; }

private:
    bool unchanged(std::string_view line) const;   // canonical form == line (not empty)
    void chunk_line(std::string_view line);
    void flush_run();
    void end_line(std::string_view line);
    std::string_view relax(std::string_view line);   // the relaxed line (§3.4.4), maybe a view of `line`
    void emit(std::string_view bytes);
    void emit_line(std::string_view line);   // the line and its CRLF
    void flush();

    Canon canon_;
    std::optional<std::uint64_t> limit_;
    Sink sink_;
    std::string partial_;            // the current line when it spans chunks
    std::string relaxed_line_;       // scratch for relaxed canonicalization
    std::string out_;                // canonical bytes not given to the sink yet
    std::string_view run_;           // unchanged lines of the current chunk, not emitted yet
    std::uint64_t pending_empty_ = 0;   // empty lines not emitted yet (maybe trailing)
    std::uint64_t produced_ = 0;
    std::uint64_t hashed_ = 0;
    bool finished_ = false;
};

// Convenience for whole bodies (tests, signing a message in memory): the canonical body.
std::string canonicalize_body(Canon canon, std::string_view body);

}  // namespace asmtpd::proto::dkim

// dkim_header.hpp - the header side of DKIM: the header block split into fields, header
// canonicalization (RFC 6376 §3.4.1 simple, §3.4.2 relaxed), the choice of fields that h=
// names (§5.4.2) and the exact data the header hash covers (§3.7).
//
// The header block is the message up to the empty line, in CRLF lines; a line starting with
// SP or HTAB continues the field above it. split_header_block() refuses a block whose first
// line is a continuation or which has a line without a colon or whose name is not printable
// ASCII (RFC 5322 ftext; dkimpy refuses the same); the
// verifier's result is then permerror for every signature.
//
// signed_header_data() is what gets hashed: for each name in h=, from the bottom of the
// header up, the next instance of that name not used yet (a name listed more often than it
// occurs contributes nothing for the extra listings: §5.4.2's "nonexistent header fields"),
// each canonicalized with its CRLF; then the DKIM-Signature field being checked, with the
// value of its b= tag removed (§3.5 b=, §3.7) and without its final CRLF.
// Pure: no I/O, no hashing (the caller hashes the returned bytes).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/proto/dkim_signature.hpp"

namespace asmtpd::proto::dkim {

struct HeaderField {
    std::string_view name;   // the field name as written, trailing WSP removed
    std::string_view raw;    // the whole field: name, ':', value, folding; no final CRLF
    // The value: everything after the ':' (folding included).
    std::string_view value() const;
};

struct SplitHeader {
    std::vector<HeaderField> fields;   // views into the block, in message order
    std::string error;                 // non-empty when the block is malformed
};

// `block`: the header lines, with or without the empty line that ends them (anything after
// an empty line is ignored). A last line without CRLF still counts.
SplitHeader split_header_block(std::string_view block);

// One field canonicalized, its CRLF included.
//   simple:  the field unchanged.
//   relaxed: name lower-cased, folding CRLFs removed, WSP runs turned into one SP, WSP at
//            the end of the value and around the colon removed.
std::string canonicalize_header(Canon canon, std::string_view raw_field);

// The fields h= selects, in h= order, bottom-up for repeated names (pointers into `fields`).
std::vector<const HeaderField*> select_signed_fields(const std::vector<HeaderField>& fields,
                                                     const std::vector<std::string>& signed_names);

// `signature_field` with the value of its b= tag (and the FWS right after "b=") removed.
// nullopt when its value is not a valid tag list or has no b= tag.
std::optional<std::string> without_b_value(std::string_view signature_field);

// The bytes the header hash covers (see the file comment); nullopt as without_b_value().
std::optional<std::string> signed_header_data(const Signature& sig, const std::vector<HeaderField>& fields,
                                              const HeaderField& signature_field);

}  // namespace asmtpd::proto::dkim

// dkim_tags.hpp - the DKIM tag=value list (RFC 6376 §3.2), shared by the DKIM-Signature
// header field (§3.5) and the key record in DNS (§3.6.1).
//
//   tag-list  = tag-spec *( ";" tag-spec ) [ ";" ]
//   tag-spec  = [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS]
//   tag-name  = ALPHA *( ALPHA / DIGIT / "_" )
//   tag-value = [ tval *( 1*(WSP / FWS) tval ) ]   tval = 1*( %x21-3A / %x3C-7E )
//
// Strict: a tag given twice, an empty tag-spec ("a=1;;b=2"), a missing "=", a control
// character, or a CR/LF that is not folding (CRLF followed by WSP) makes the whole list
// malformed, and the caller's verdict is a permerror. Tag names are case-sensitive (§3.2).
// One relaxation: octets >= 0x80 are allowed in values, because RFC 8616 (EAI) lets d= and
// i= carry UTF-8. Unknown tags are returned like any other; ignoring them is the caller's job.
// Pure: no I/O. The returned views point into the caller's text, which must outlive them.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace asmtpd::proto::dkim {

struct Tag {
    std::string_view name;
    std::string_view value;      // without surrounding FWS; inner FWS kept as written
    std::size_t after_equals = 0;  // offset in the input just after '=' (b= emptying, §3.7)
};

struct TagList {
    std::vector<Tag> tags;   // in the order written
    std::string error;       // non-empty when the list is malformed (then tags is empty)

    bool ok() const { return error.empty(); }
    // The tag called exactly `name`, or nullptr.
    const Tag* find(std::string_view name) const;
};

TagList parse_tag_list(std::string_view text);

// The value with every WSP, CR and LF removed: how base64 values (b=, bh=, p=) and the
// colon-separated lists (h=) are read, since FWS may fold them anywhere (§3.5).
std::string strip_fws(std::string_view value);

}  // namespace asmtpd::proto::dkim

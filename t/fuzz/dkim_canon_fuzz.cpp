// dkim_canon_fuzz.cpp - libFuzzer target for core/proto/dkim_header.cpp and dkim_body.cpp.
// The first byte picks a chunk size and a limit, the rest is a message (header block, then
// body after the first empty line). Invariants:
//   body: the plain reference's result (t/support/dkim_body_reference.hpp); any chunking
//         gives the whole-body result; the output is empty or ends in exactly
//         one CRLF after a non-empty line (never two CRLFs at the end); simple of an empty
//         body is CRLF; relaxed has no WSP before a CRLF and no WSP runs; a limit caps what
//         the sink gets but not canonical_length().
//   header: split fields are the block's own bytes, names non-empty without a colon;
//         relaxed output is one line: lower-case name, no CR/LF inside, no WSP runs.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <algorithm>
#include <string>
#include <string_view>

#include "core/proto/dkim_body.hpp"
#include "core/proto/dkim_header.hpp"
#include "core/proto/text.hpp"
#include "t/fuzz/fuzz_check.hpp"
#include "t/support/dkim_body_reference.hpp"

using namespace asmtpd::proto::dkim;

namespace {

std::string run_body(Canon canon, std::string_view body, std::size_t step, std::optional<std::uint64_t> limit,
                     std::uint64_t* length) {
    std::string out;
    BodyCanonicalizer c(canon, limit, [&out](std::string_view b) { out.append(b); });
    for (std::size_t i = 0; i < body.size(); i += step) c.feed(body.substr(i, step));
    c.finish();
    FUZZ_CHECK(c.hashed_length() == out.size());
    *length = c.canonical_length();
    return out;
}

void check_body(Canon canon, std::string_view body, std::size_t step, std::uint64_t limit) {
    const std::string whole = canonicalize_body(canon, body);
    FUZZ_CHECK(whole == asmtpd::test::reference_canonical_body(canon, body));
    std::uint64_t length = 0;
    FUZZ_CHECK(run_body(canon, body, step, std::nullopt, &length) == whole);
    FUZZ_CHECK(length == whole.size());
    std::uint64_t limited_length = 0;
    const std::string limited = run_body(canon, body, step, limit, &limited_length);
    FUZZ_CHECK(limited_length == whole.size());
    FUZZ_CHECK(limited == whole.substr(0, std::size_t(std::min<std::uint64_t>(limit, whole.size()))));
    if (canon == Canon::Simple) FUZZ_CHECK(!whole.empty());
    if (whole.empty()) return;
    FUZZ_CHECK(whole.size() >= 2 && whole.ends_with("\r\n"));
    if (whole != "\r\n") FUZZ_CHECK(!whole.ends_with("\r\n\r\n"));
    if (canon == Canon::Relaxed) {
        FUZZ_CHECK(whole.find(" \r\n") == std::string::npos && whole.find("\t") == std::string::npos);
        FUZZ_CHECK(whole.find("  ") == std::string::npos);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::size_t step = (data[0] & 0x0f) + 1;
    const std::uint64_t limit = data[0] >> 2;
    std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
    const auto split_at = in.find("\r\n\r\n");
    const std::string_view block = in.substr(0, split_at == std::string_view::npos ? in.size() : split_at + 2);
    const std::string_view body = split_at == std::string_view::npos ? std::string_view{} : in.substr(split_at + 4);

    check_body(Canon::Simple, body, step, limit);
    check_body(Canon::Relaxed, body, step, limit);

    const SplitHeader header = split_header_block(block);
    if (!header.error.empty()) {
        FUZZ_CHECK(header.fields.empty());
        return 0;
    }
    for (const auto& f : header.fields) {
        FUZZ_CHECK(f.raw.data() >= block.data() && f.raw.data() + f.raw.size() <= block.data() + block.size());
        FUZZ_CHECK(!f.name.empty() && f.name.find(':') == std::string_view::npos);
        FUZZ_CHECK(f.raw.substr(0, f.name.size()) == f.name);
        FUZZ_CHECK(canonicalize_header(Canon::Simple, f.raw) == std::string(f.raw) + "\r\n");
        const std::string relaxed = canonicalize_header(Canon::Relaxed, f.raw);
        FUZZ_CHECK(relaxed.ends_with("\r\n"));
        const std::string_view line = std::string_view(relaxed).substr(0, relaxed.size() - 2);
        FUZZ_CHECK(line.find_first_of("\r\n\t") == std::string_view::npos);
        FUZZ_CHECK(line.find("  ") == std::string_view::npos && !line.ends_with(" "));
        for (char c : line.substr(0, line.find(':'))) FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));
        if (asmtpd::proto::iequals(f.name, "DKIM-Signature")) {
            auto sig = parse_signature(f.value());
            if (sig.signature) {
                const auto data = signed_header_data(*sig.signature, header.fields, f);
                FUZZ_CHECK(data.has_value());
                // The b= span noted by the parser empties the same bytes as a second parse.
                Signature unnoted = *sig.signature;
                unnoted.b_from = unnoted.b_to = 0;
                FUZZ_CHECK(signed_header_data(unnoted, header.fields, f) == data);
            }
        }
    }
    return 0;
}

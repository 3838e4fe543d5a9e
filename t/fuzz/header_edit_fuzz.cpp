// header_edit_fuzz.cpp - libFuzzer target for core/proto/header_edit.cpp (and the splitting
// and field rules of header_block.cpp).
// The input is a header block, a NUL, then edit descriptions: per edit one kind byte, one
// index byte, and name/value texts separated by NUL. Invariants: no edits give the block back
// (plus a final CRLF); whatever the edits, every field of the input no edit named survives
// byte for byte and in order; everything an edit wrote is well-formed (CRLF lines, no empty
// line, no bare CR/LF, no NUL) or keeps an input field's value bytes (rename); the same edits
// give the same result twice.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/proto/header_block.hpp"
#include "core/proto/header_edit.hpp"
#include "t/fuzz/fuzz_check.hpp"

using asmtpd::proto::HeaderEdit;

namespace {

std::string_view take(std::string_view& in) {
    auto nul = in.find('\0');
    std::string_view out = in.substr(0, nul);
    in = nul == std::string_view::npos ? std::string_view() : in.substr(nul + 1);
    return out;
}

// One well-formed field: CRLF lines, none empty, no other CR/LF/NUL, continuations folded.
bool well_formed(std::string_view text) {
    if (text.size() < 2 || text.substr(text.size() - 2) != "\r\n") return false;
    std::size_t pos = 0;
    bool first = true;
    while (pos < text.size()) {
        auto crlf = text.find("\r\n", pos);
        if (crlf == std::string_view::npos) return false;
        std::string_view line = text.substr(pos, crlf - pos);
        if (line.empty() || line.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) return false;
        if (!first && line[0] != ' ' && line[0] != '\t') return false;
        first = false;
        pos = crlf + 2;
    }
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    std::string_view block = take(in);
    std::vector<HeaderEdit> edits;
    while (in.size() >= 2 && edits.size() < 16) {
        const auto kind = static_cast<unsigned char>(in[0]);
        const std::size_t index = static_cast<unsigned char>(in[1]) % 8;
        in.remove_prefix(2);
        HeaderEdit e;
        e.kind = static_cast<HeaderEdit::Kind>(kind % 4);
        e.index = index;
        e.name = std::string(take(in));
        e.value = std::string(take(in));
        if (kind & 0x80) e.when = [](std::string_view v) { return v.size() % 2 == 0; };
        edits.push_back(std::move(e));
    }

    std::string plain = asmtpd::proto::apply_header_edits(block, {});
    std::string expect(block);
    if (!expect.empty() && expect.back() != '\n') expect += "\r\n";
    FUZZ_CHECK(plain == expect);

    std::string out = asmtpd::proto::apply_header_edits(block, edits);
    FUZZ_CHECK(out == asmtpd::proto::apply_header_edits(block, edits));

    // Fields no edit names appear in the output byte for byte, in order. Every other field of
    // the output has a valid name and is either well-formed (an edit wrote it) or carries the
    // ":value" bytes of an input field (renamed, or named by an edit that did not apply).
    auto named = [&](std::string_view name) {
        for (const auto& e : edits)
            if (e.kind != HeaderEdit::Kind::Insert && asmtpd::proto::iequals(e.name, name)) return true;
        return false;
    };
    auto before = asmtpd::proto::split_header_block(expect);
    auto after = asmtpd::proto::split_header_block(out);
    auto check_other = [&](const asmtpd::proto::RawHeaderField& a) {
        if (well_formed(a.raw)) return;
        FUZZ_CHECK(!a.name.empty());
        bool kept_value = false;
        for (const auto& b : before)
            if (!b.name.empty() && b.raw.substr(b.name.size()) == a.raw.substr(a.name.size())) kept_value = true;
        FUZZ_CHECK(kept_value);
    };
    std::size_t j = 0;
    for (const auto& f : before) {
        if (!f.name.empty() && named(f.name)) continue;
        while (j < after.size() && after[j].raw != f.raw) check_other(after[j++]);
        FUZZ_CHECK(j < after.size());
        ++j;
    }
    for (; j < after.size(); ++j) check_other(after[j]);
    return 0;
}

// dkim_header.cpp - header block splitting and DKIM header canonicalization (RFC 6376 §3.4,
// §3.7, §5.4.2).
#include "core/proto/dkim_header.hpp"

#include "core/proto/dkim_tags.hpp"
#include "core/proto/text.hpp"

namespace asmtpd::proto::dkim {

namespace {

constexpr bool is_wsp(char c) { return c == ' ' || c == '\t'; }

std::string_view trim_wsp_end(std::string_view s) {
    while (!s.empty() && is_wsp(s.back())) s.remove_suffix(1);
    return s;
}

// RFC 5322 ftext: printable ASCII except ':' (the colon is where the name was cut).
bool is_field_name(std::string_view name) {
    if (name.empty()) return false;
    for (char c : name) {
        if (c < 0x21 || c > 0x7e) return false;
    }
    return true;
}

}  // namespace

std::string_view HeaderField::value() const {
    const auto colon = raw.find(':');
    return colon == std::string_view::npos ? std::string_view{} : raw.substr(colon + 1);
}

SplitHeader split_header_block(std::string_view block) {
    SplitHeader out;
    out.fields.reserve(32);
    std::size_t pos = 0;
    std::size_t field_start = std::string_view::npos;
    auto close_field = [&](std::size_t end) {
        if (field_start == std::string_view::npos) return;
        std::string_view raw = block.substr(field_start, end - field_start);
        out.fields.push_back({trim_wsp_end(raw.substr(0, raw.find(':'))), raw});
        field_start = std::string_view::npos;
    };
    while (pos < block.size()) {
        auto eol = block.find("\r\n", pos);
        const std::size_t line_end = eol == std::string_view::npos ? block.size() : eol;
        std::string_view line = block.substr(pos, line_end - pos);
        if (line.empty()) break;   // the empty line ends the header
        if (is_wsp(line[0])) {
            if (field_start == std::string_view::npos) {
                out.fields.clear();
                out.error = "header starts with a continuation line";
                return out;
            }
        } else {
            close_field(pos >= 2 ? pos - 2 : pos);
            const auto colon = line.find(':');
            if (colon == std::string_view::npos || !is_field_name(trim_wsp_end(line.substr(0, colon)))) {
                out.fields.clear();
                out.error = "header line without a field name and colon";
                return out;
            }
            field_start = pos;
        }
        pos = eol == std::string_view::npos ? block.size() : eol + 2;
        if (eol == std::string_view::npos) {
            close_field(block.size());
            return out;
        }
    }
    close_field(pos >= 2 ? pos - 2 : pos);
    return out;
}

std::string canonicalize_header(Canon canon, std::string_view raw) {
    std::string out;
    out.reserve(raw.size() + 2);
    if (canon == Canon::Simple) {
        out.append(raw);
        out.append("\r\n");
        return out;
    }
    const auto colon = raw.find(':');
    for (char c : trim_wsp_end(raw.substr(0, colon))) out += ascii_lower(c);
    out += ':';
    if (colon == std::string_view::npos) return out + "\r\n";
    // Unfold and compress: CR and LF vanish, each WSP run becomes one SP; leading and
    // trailing WSP of the value are dropped.
    bool pending_space = false;
    bool started = false;
    for (char c : raw.substr(colon + 1)) {
        if (c == '\r' || c == '\n') continue;
        if (is_wsp(c)) {
            pending_space = started;
            continue;
        }
        if (pending_space) out += ' ';
        pending_space = false;
        started = true;
        out += c;
    }
    out.append("\r\n");
    return out;
}

std::vector<const HeaderField*> select_signed_fields(const std::vector<HeaderField>& fields,
                                                     const std::vector<std::string>& signed_names) {
    std::vector<const HeaderField*> out;
    std::vector<bool> used(fields.size(), false);
    for (const auto& name : signed_names) {
        for (std::size_t i = fields.size(); i-- > 0;) {
            if (!used[i] && iequals(fields[i].name, name)) {
                used[i] = true;
                out.push_back(&fields[i]);
                break;
            }
        }
    }
    return out;
}

std::optional<std::string> without_b_value(std::string_view field) {
    const auto colon = field.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    const std::string_view value = field.substr(colon + 1);
    const TagList list = parse_tag_list(value);
    const Tag* b = list.ok() ? list.find("b") : nullptr;
    if (!b) return std::nullopt;
    const std::size_t cut_from = colon + 1 + b->after_equals;
    const std::size_t cut_to = colon + 1 + std::size_t(b->value.data() - value.data()) + b->value.size();
    std::string out(field.substr(0, cut_from));
    out.append(field.substr(cut_to));
    return out;
}

std::optional<std::string> signed_header_data(const Signature& sig, const std::vector<HeaderField>& fields,
                                              const HeaderField& signature_field) {
    std::optional<std::string> emptied;
    const std::string_view raw = signature_field.raw;
    const auto colon = raw.find(':');
    // The span parse_signature() noted, when it fits this field (it was parsed from its value).
    if (colon != std::string_view::npos && sig.b_from < sig.b_to && colon + 1 + sig.b_to <= raw.size()) {
        emptied.emplace(raw.substr(0, colon + 1 + sig.b_from));
        emptied->append(raw.substr(colon + 1 + sig.b_to));
    } else {
        emptied = without_b_value(raw);
    }
    if (!emptied) return std::nullopt;
    std::string data;
    for (const HeaderField* f : select_signed_fields(fields, sig.signed_headers)) {
        data += canonicalize_header(sig.header_canon, f->raw);
    }
    data += canonicalize_header(sig.header_canon, *emptied);
    data.resize(data.size() - 2);   // §3.7: the signature field is hashed without its CRLF
    return data;
}

}  // namespace asmtpd::proto::dkim

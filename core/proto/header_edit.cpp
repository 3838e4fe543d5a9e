// header_edit.cpp - see header_edit.hpp.
//
// The block is split once into fields that point into the input; an untouched field stays a
// view and is copied only when the result is assembled, so a long block with one edit costs
// one split and one copy.
#include "core/proto/header_edit.hpp"

#include <optional>

#include "core/proto/header_block.hpp"

namespace asmtpd::proto {

namespace {

// One field of the block being edited: the original bytes, or text an edit produced.
struct Field {
    std::string_view raw;             // original (when owned is empty)
    std::string_view name;            // original name, or a view into owned_name
    std::optional<std::string> owned; // the whole field, CRLF-terminated, when an edit made it
    std::string owned_name;

    std::string_view text() const { return owned ? std::string_view(*owned) : raw; }
};

// "name: value" as one well-formed field, or nothing when it cannot be one.
std::optional<std::string> make_field(std::string_view name, std::string_view value) {
    if (!valid_field_name(name)) return std::nullopt;
    std::string text(name);
    text += ':';
    if (value.empty() || (value[0] != ' ' && value[0] != '\t')) text += ' ';
    text += value;
    std::string out;
    if (!append_header_field(out, text)) return std::nullopt;
    return out;
}

Field owned_field(std::string_view name, std::string text) {
    Field f;
    f.owned = std::move(text);
    f.owned_name = std::string(name);
    return f;
}

// After a move of the vector, views into owned_name would dangle: recompute names on use.
std::string_view name_of(const Field& f) { return f.owned ? std::string_view(f.owned_name) : f.name; }

bool matches(const Field& f, const HeaderEdit& e) {
    if (!e.when) return true;
    std::string_view t = f.text();
    std::string_view v = t.substr(std::min(t.size(), name_of(f).size() + 1));
    return e.when(unfold(v));
}

void apply_one(std::vector<Field>& fields, const HeaderEdit& e) {
    if (e.kind == HeaderEdit::Kind::Insert) {
        auto made = make_field(e.name, e.value);
        if (!made) return;
        std::size_t at = std::min(e.index, fields.size());
        // A block that starts with a folded line (no field before it) keeps it first: a field
        // inserted above it would take it as its own continuation.
        if (at == 0 && !fields.empty() && !fields[0].owned && !fields[0].raw.empty() &&
            (fields[0].raw[0] == ' ' || fields[0].raw[0] == '\t'))
            at = 1;
        fields.insert(fields.begin() + static_cast<std::ptrdiff_t>(at), owned_field(e.name, std::move(*made)));
        return;
    }
    if (!valid_field_name(e.name)) return;
    if (e.kind == HeaderEdit::Kind::Rename && !valid_field_name(e.value)) return;
    std::size_t seen = 0;
    bool hit = false;
    for (std::size_t i = 0; i < fields.size();) {
        Field& f = fields[i];
        if (name_of(f).empty() || !iequals(name_of(f), e.name)) {
            ++i;
            continue;
        }
        ++seen;
        if ((e.index != 0 && seen != e.index) || !matches(f, e)) {
            ++i;
            continue;
        }
        hit = true;
        std::string_view t = f.text();
        std::string_view rest = t.substr(name_of(f).size());   // ":" value, line ends and all
        switch (e.kind) {
            case HeaderEdit::Kind::Delete:
                fields.erase(fields.begin() + static_cast<std::ptrdiff_t>(i));
                continue;
            case HeaderEdit::Kind::Rename:
                f = owned_field(e.value, e.value + std::string(rest));
                break;
            case HeaderEdit::Kind::Change:
                // The field keeps its name as written; only the value changes.
                if (auto made = make_field(name_of(f), e.value)) f = owned_field(std::string(name_of(f)), std::move(*made));
                break;
            case HeaderEdit::Kind::Insert:
                break;
        }
        ++i;
        if (e.index != 0) return;
    }
    if (!hit && e.kind == HeaderEdit::Kind::Change && e.index > seen && !e.when)
        if (auto made = make_field(e.name, e.value)) fields.push_back(owned_field(e.name, std::move(*made)));
}

}  // namespace

HeaderEdit HeaderEdit::remove(std::string name, std::size_t occurrence) {
    return {Kind::Delete, std::move(name), occurrence, {}, {}};
}
HeaderEdit HeaderEdit::rename(std::string name, std::size_t occurrence, std::string new_name) {
    return {Kind::Rename, std::move(name), occurrence, std::move(new_name), {}};
}
HeaderEdit HeaderEdit::change(std::string name, std::size_t occurrence, std::string value) {
    return {Kind::Change, std::move(name), occurrence, std::move(value), {}};
}
HeaderEdit HeaderEdit::insert(std::size_t position, std::string name, std::string value) {
    return {Kind::Insert, std::move(name), position, std::move(value), {}};
}

std::string apply_header_edits(std::string_view block, const std::vector<HeaderEdit>& edits) {
    std::vector<Field> fields;
    for (const auto& hf : split_header_block(block)) fields.push_back({hf.raw, hf.name, std::nullopt, {}});
    for (const auto& e : edits) apply_one(fields, e);
    std::string out;
    out.reserve(block.size() + 256);
    for (const auto& f : fields) {
        std::string_view t = f.text();
        out += t;
        // Only the block's last line can lack its line end (the message ended there).
        if (!t.empty() && t.back() != '\n') out += "\r\n";
    }
    return out;
}

}  // namespace asmtpd::proto

// header_block.cpp - see header_block.hpp.
#include "core/proto/header_block.hpp"

namespace asmtpd::proto {

namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t'; }
bool blank(std::string_view s) { return s.find_first_not_of(" \t") == std::string_view::npos; }

// The name of the line's field, or empty when the line does not start one.
std::string_view field_name(std::string_view line) {
    auto colon = line.find(':');
    if (colon == std::string_view::npos) return {};
    std::string_view name = line.substr(0, colon);
    return valid_field_name(name) ? name : std::string_view();
}

}  // namespace

bool valid_field_name(std::string_view name) {
    if (name.empty()) return false;
    for (char c : name) {
        auto u = static_cast<unsigned char>(c);
        if (u < 33 || u > 126 || c == ':') return false;
    }
    return true;
}

std::string_view RawHeaderField::value() const {
    if (name.empty()) return {};
    std::string_view v = raw.substr(name.size() + 1);
    while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.remove_suffix(1);
    return v;
}

std::vector<RawHeaderField> split_header_block(std::string_view block) {
    std::vector<RawHeaderField> out;
    std::size_t pos = 0;
    while (pos < block.size()) {
        auto nl = block.find('\n', pos);
        std::size_t end = nl == std::string_view::npos ? block.size() : nl + 1;
        std::string_view line = block.substr(pos, end - pos);
        if (out.empty() || !is_wsp(line[0])) {
            out.push_back({line, field_name(line)});
        } else {
            // A continuation: the field grows to the end of this line.
            RawHeaderField& f = out.back();
            f.raw = std::string_view(f.raw.data(), end - static_cast<std::size_t>(f.raw.data() - block.data()));
        }
        pos = end;
    }
    return out;
}

bool append_header_field(std::string& out, std::string_view text) {
    const std::size_t start = out.size();
    bool first = true;
    std::size_t pos = 0;
    while (pos <= text.size()) {
        auto end = text.find_first_of("\r\n", pos);
        if (end == std::string_view::npos) end = text.size();
        std::string_view seg = text.substr(pos, end - pos);
        pos = end + 1;
        if (end < text.size() && text[end] == '\r' && pos < text.size() && text[pos] == '\n') ++pos;

        std::string line;
        line.reserve(seg.size() + 1);
        for (char c : seg) {
            auto u = static_cast<unsigned char>(c);
            if ((u < 32 && c != '\t') || u == 127) continue;
            line.push_back(c);
        }
        if (first) {
            if (field_name(line).empty()) return false;   // not a header: drop it whole
            first = false;
        } else {
            if (blank(line)) continue;
            if (!is_wsp(line[0])) line.insert(line.begin(), ' ');
        }
        out += line;
        out += "\r\n";
        if (end == text.size()) break;
    }
    return out.size() > start;
}

std::string unfold(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (std::size_t i = 0; i < value.size(); ++i) {
        char c = value[i];
        if (c == '\r' && i + 1 < value.size() && value[i + 1] == '\n') continue;
        if (c == '\n') continue;
        out.push_back(c);
    }
    auto b = out.find_first_not_of(" \t");
    if (b == std::string::npos) return {};
    auto e = out.find_last_not_of(" \t");
    return out.substr(b, e - b + 1);
}

}  // namespace asmtpd::proto

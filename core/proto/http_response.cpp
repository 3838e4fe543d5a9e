// http_response.cpp - HTTP/1.x response framing (see http_response.hpp).
//
// Must never: read past `in`, accept a response whose body length is ambiguous (request
// smuggling's response-side twin), or overflow a length.
#include "core/proto/http_response.hpp"

#include <cstdint>

#include "core/proto/text.hpp"

namespace asmtpd::proto {

namespace {

constexpr std::size_t kMaxChunkDigits = 15;   // sizes below 2^60

// The next line of `in` from `pos`, without its line end; pos moves past it. nullopt when no
// line end has arrived yet.
std::optional<std::string_view> next_line(std::string_view in, std::size_t& pos) {
    const auto lf = in.find('\n', pos);
    if (lf == std::string_view::npos) return std::nullopt;
    std::string_view line = in.substr(pos, lf - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = lf + 1;
    return line;
}

std::string_view trim_ows(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// Controls other than HTAB (a bare CR inside a line above all: RFC 9112 §2.2).
bool has_ctl(std::string_view s) {
    for (char c : s)
        if (is_ctl(c) && c != '\t') return true;
    return false;
}

bool token_char(char c) {
    return is_alnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool parse_status_line(std::string_view line, HttpResponse& out, std::string& error) {
    // "HTTP/1.1 200 OK"
    if (line.size() < 12 || line.substr(0, 5) != "HTTP/" || line[5] != '1' || line[6] != '.' || !is_digit(line[7]) ||
        line[8] != ' ' || !is_digit(line[9]) || !is_digit(line[10]) || !is_digit(line[11]) ||
        (line.size() > 12 && line[12] != ' ')) {
        error = "not an HTTP/1.x status line";
        return false;
    }
    out.version_minor = line[7] - '0';
    out.status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
    if (out.status < 100) {
        error = "bad status code";
        return false;
    }
    out.reason = line.size() > 13 ? std::string(line.substr(13)) : std::string();
    if (has_ctl(out.reason)) {
        error = "control character in the status line";
        return false;
    }
    return true;
}

// Fields up to the empty line. Incomplete when it has not arrived.
HttpParse parse_fields(std::string_view in, std::size_t& pos, std::vector<HttpField>& fields, std::string& error) {
    for (;;) {
        auto line = next_line(in, pos);
        if (!line) return HttpParse::Incomplete;
        if (line->empty()) return HttpParse::Complete;
        if (line->front() == ' ' || line->front() == '\t') {
            error = "folded header line";
            return HttpParse::Invalid;
        }
        const auto colon = line->find(':');
        if (colon == std::string_view::npos || colon == 0) {
            error = "header line without a name";
            return HttpParse::Invalid;
        }
        const auto name = line->substr(0, colon);
        for (char c : name) {
            if (!token_char(c)) {
                error = "bad header name";
                return HttpParse::Invalid;
            }
        }
        if (fields.size() >= kMaxHttpFields) {
            error = "too many header fields";
            return HttpParse::Invalid;
        }
        const auto value = trim_ows(line->substr(colon + 1));
        if (has_ctl(value)) {
            error = "control character in a header field";
            return HttpParse::Invalid;
        }
        fields.push_back({std::string(name), std::string(value)});
    }
}

std::optional<std::uint64_t> parse_length(std::string_view s) {
    if (s.empty() || s.size() > 18) return std::nullopt;
    std::uint64_t n = 0;
    for (char c : s) {
        if (!is_digit(c)) return std::nullopt;
        n = n * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return n;
}

std::optional<std::uint64_t> parse_chunk_size(std::string_view line) {
    const auto semi = line.find(';');
    auto hex = trim_ows(line.substr(0, semi));
    if (hex.empty() || hex.size() > kMaxChunkDigits) return std::nullopt;
    std::uint64_t n = 0;
    for (char c : hex) {
        if (!is_hex(c)) return std::nullopt;
        const char l = ascii_lower(c);
        n = n * 16 + static_cast<std::uint64_t>(is_digit(l) ? l - '0' : l - 'a' + 10);
    }
    return n;
}

HttpParse parse_chunked(std::string_view in, std::size_t pos, std::string& body, std::string& error) {
    for (;;) {
        auto line = next_line(in, pos);
        if (!line) return HttpParse::Incomplete;
        auto size = parse_chunk_size(*line);
        if (!size) {
            error = "bad chunk size";
            return HttpParse::Invalid;
        }
        if (*size == 0) {
            std::vector<HttpField> trailers;
            return parse_fields(in, pos, trailers, error);
        }
        if (in.size() - pos < *size) return HttpParse::Incomplete;
        body.append(in.substr(pos, static_cast<std::size_t>(*size)));
        pos += static_cast<std::size_t>(*size);
        auto end = next_line(in, pos);
        if (!end) return HttpParse::Incomplete;
        if (!end->empty()) {
            error = "chunk data longer than its size";
            return HttpParse::Invalid;
        }
    }
}

// Content-Length: one value, or several equal ones; nullopt + error when they are bad.
bool content_length(const HttpResponse& r, std::optional<std::uint64_t>& length, std::string& error) {
    for (const auto& f : r.fields) {
        if (!iequals(f.name, "Content-Length")) continue;
        auto n = parse_length(f.value);
        if (!n || (length && *length != *n)) {
            error = "bad Content-Length";
            return false;
        }
        length = n;
    }
    return true;
}

}  // namespace

std::optional<std::string_view> HttpResponse::field(std::string_view name) const {
    for (const auto& f : fields)
        if (iequals(f.name, name)) return std::string_view(f.value);
    return std::nullopt;
}

HttpParse parse_http_response(std::string_view in, bool at_eof, HttpResponse& out, std::string& error) {
    std::size_t pos = 0;
    auto cut = [&] {
        if (!at_eof) return HttpParse::Incomplete;
        error = "closed before the end of the response";
        return HttpParse::Invalid;
    };
    for (;;) {
        out = HttpResponse{};
        auto line = next_line(in, pos);
        if (!line) {
            // Enough to tell garbage early: a first line that cannot become a status line.
            const auto head = in.substr(pos, 5);
            if (std::string_view("HTTP/").substr(0, head.size()) != head) {
                error = "not an HTTP/1.x status line";
                return HttpParse::Invalid;
            }
            return cut();
        }
        if (!parse_status_line(*line, out, error)) return HttpParse::Invalid;
        auto fields = parse_fields(in, pos, out.fields, error);
        if (fields == HttpParse::Invalid) return fields;
        if (fields == HttpParse::Incomplete) return cut();
        if (out.status >= 200) break;
        // 1xx: an interim response; the real one follows.
    }

    std::optional<std::uint64_t> length;
    if (!content_length(out, length, error)) return HttpParse::Invalid;
    const auto te = out.field("Transfer-Encoding");
    if (te && length) {
        error = "both Content-Length and Transfer-Encoding";
        return HttpParse::Invalid;
    }
    if (out.status == 204 || out.status == 304) return HttpParse::Complete;
    if (te) {
        if (!iequals(*te, "chunked")) {
            error = "unsupported Transfer-Encoding";
            return HttpParse::Invalid;
        }
        auto r = parse_chunked(in, pos, out.body, error);
        return r == HttpParse::Incomplete ? cut() : r;
    }
    if (length) {
        if (in.size() - pos < *length) return cut();
        if (in.size() - pos > *length) {
            error = "more data than Content-Length";
            return HttpParse::Invalid;
        }
        out.body.assign(in.substr(pos));
        return HttpParse::Complete;
    }
    if (!at_eof) return HttpParse::Incomplete;   // the body runs to the close
    out.body.assign(in.substr(pos));
    return HttpParse::Complete;
}

}  // namespace asmtpd::proto

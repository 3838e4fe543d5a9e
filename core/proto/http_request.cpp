// http_request.cpp - one HTTP/1.x request head (see http_request.hpp).
#include "core/proto/http_request.hpp"

#include <algorithm>
#include <cctype>

namespace asmtpd::proto {

namespace {

using Parse = HttpRequestParse;

Parse invalid(int status, std::string why) {
    Parse p;
    p.status = Parse::Status::Invalid;
    p.error_status = status;
    p.error = std::move(why);
    return p;
}

bool is_tchar(char c) {
    if (std::isalnum(static_cast<unsigned char>(c))) return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool has_control(std::string_view line) {
    return std::any_of(line.begin(), line.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return (u < 0x20 && c != '\t') || u == 0x7f;
    });
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

}  // namespace

HttpRequestParse parse_http_request_head(std::string_view in) {
    Parse p;
    std::size_t pos = 0;
    bool first = true;
    bool connection_close = false, connection_keep_alive = false;
    for (;;) {
        const std::size_t lf = in.find('\n', pos);
        if (lf == std::string_view::npos) {
            if (in.size() > kMaxHttpRequestHead) return invalid(431, "request head too long");
            return p;   // Incomplete
        }
        if (lf + 1 > kMaxHttpRequestHead) return invalid(431, "request head too long");
        std::string_view line = in.substr(pos, lf - pos);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        pos = lf + 1;
        if (first && line.empty()) continue;   // RFC 9112 §2.2: ignore a leading empty line
        if (has_control(line)) return invalid(400, "control character in the request head");
        if (first) {
            first = false;
            const auto sp1 = line.find(' ');
            const auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
            if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
                return invalid(400, "malformed request line");
            const auto method = line.substr(0, sp1);
            const auto target = line.substr(sp1 + 1, sp2 - sp1 - 1);
            const auto version = line.substr(sp2 + 1);
            if (method.empty() || !std::all_of(method.begin(), method.end(), is_tchar))
                return invalid(400, "malformed method");
            if (target.empty() || target.find('\t') != std::string_view::npos) return invalid(400, "malformed target");
            if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' ||
                !std::isdigit(static_cast<unsigned char>(version[5])) ||
                !std::isdigit(static_cast<unsigned char>(version[7])))
                return invalid(400, "malformed HTTP version");
            if (version[5] != '1') return invalid(505, "HTTP version not supported");
            p.head.method = std::string(method);
            p.head.target = std::string(target);
            p.head.path = std::string(target.substr(0, target.find('?')));
            p.head.version_minor = version[7] - '0';
            continue;
        }
        if (line.empty()) break;   // end of the head
        if (line.front() == ' ' || line.front() == '\t') return invalid(400, "obsolete line folding");
        const auto colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0) return invalid(400, "field line without a name");
        const auto name = line.substr(0, colon);
        if (!std::all_of(name.begin(), name.end(), is_tchar)) return invalid(400, "malformed field name");
        const std::string lname = lower(name);
        const std::string value = lower(trim(line.substr(colon + 1)));
        if (lname == "content-length" && value != "0") return invalid(400, "a request body is not accepted");
        if (lname == "transfer-encoding") return invalid(400, "a request body is not accepted");
        if (lname == "connection") {
            if (value.find("close") != std::string::npos) connection_close = true;
            if (value.find("keep-alive") != std::string::npos) connection_keep_alive = true;
        }
    }
    p.status = Parse::Status::Complete;
    p.head.consumed = pos;
    p.head.keep_alive = p.head.version_minor >= 1 ? !connection_close : connection_keep_alive && !connection_close;
    return p;
}

}  // namespace asmtpd::proto

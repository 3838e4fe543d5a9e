// milter_packet.cpp - the milter wire codec (see milter_packet.hpp).
#include "core/proto/milter_packet.hpp"

#include "core/proto/reply.hpp"

namespace asmtpd::proto::milter {

namespace {

void put32(std::string& out, std::uint32_t v) {
    out.push_back(static_cast<char>((v >> 24) & 0xff));
    out.push_back(static_cast<char>((v >> 16) & 0xff));
    out.push_back(static_cast<char>((v >> 8) & 0xff));
    out.push_back(static_cast<char>(v & 0xff));
}

std::uint32_t get32(std::string_view s, std::size_t at) {
    auto b = [&](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + i])); };
    return (b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3);
}

// A NUL-terminated string; a NUL inside the text would end it early, so it is cut there.
void put_str(std::string& out, std::string_view s) {
    out.append(s.substr(0, s.find('\0')));
    out.push_back('\0');
}

// Reads the NUL-terminated strings of data (a missing final NUL is an error).
bool split_strings(std::string_view data, std::vector<std::string_view>& out) {
    while (!data.empty()) {
        auto nul = data.find('\0');
        if (nul == std::string_view::npos) return false;
        out.push_back(data.substr(0, nul));
        data.remove_prefix(nul + 1);
    }
    return true;
}

bool all_digits(std::string_view s) {
    for (char c : s)
        if (c < '0' || c > '9') return false;
    return !s.empty();
}

// "x.y.z" with 1-3 digits in the second and third parts.
bool looks_like_esc(std::string_view s) {
    auto dot1 = s.find('.');
    if (dot1 != 1 || !all_digits(s.substr(0, 1))) return false;
    auto dot2 = s.find('.', 2);
    if (dot2 == std::string_view::npos) return false;
    auto b = s.substr(2, dot2 - 2), c = s.substr(dot2 + 1);
    return all_digits(b) && b.size() <= 3 && all_digits(c) && c.size() <= 3;
}

// REPLYCODE text: one line "550 5.7.1 text" or several "550-5.7.1 a\r\n550 5.7.1 b".
bool parse_reply_code(std::string_view text, Reply& r, std::string& error) {
    std::vector<std::string_view> raw;
    while (true) {
        auto nl = text.find('\n');
        auto line = text.substr(0, nl);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        raw.push_back(line);
        if (nl == std::string_view::npos) break;
        text.remove_prefix(nl + 1);
        if (text.empty()) break;   // a final line end adds no line
    }
    for (std::size_t i = 0; i < raw.size(); ++i) {
        auto line = raw[i];
        if (line.size() < 3 || !all_digits(line.substr(0, 3))) {
            error = "replycode line without a reply code";
            return false;
        }
        const int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
        if (i == 0) r.code = code;
        if (code != r.code) {
            error = "replycode lines with different codes";
            return false;
        }
        const bool last = i + 1 == raw.size();
        std::string_view rest = line.substr(3);
        if (!rest.empty()) {
            if (rest[0] != (last ? ' ' : '-')) {
                error = "replycode line with a bad separator";
                return false;
            }
            rest.remove_prefix(1);
        }
        auto sp = rest.find(' ');
        auto first = rest.substr(0, sp);
        if (looks_like_esc(first)) {
            if (i == 0) r.esc = std::string(first);
            rest = sp == std::string_view::npos ? std::string_view{} : rest.substr(sp + 1);
        }
        r.lines.push_back(sanitize_reply_text(rest));
    }
    if (r.code < 400 || r.code > 599) {
        error = "replycode " + std::to_string(r.code) + " is not 4xx or 5xx";
        return false;
    }
    if (!r.esc.empty() && !esc_matches(r.esc, r.code)) r.esc.clear();
    return true;
}

bool parse_optneg(std::string_view d, OptNeg& o, std::string& error) {
    if (d.size() < 12) {
        error = "optneg shorter than 12 octets";
        return false;
    }
    o.version = get32(d, 0);
    o.actions = get32(d, 4);
    o.protocol = get32(d, 8);
    d.remove_prefix(12);
    while (!d.empty()) {
        if (d.size() < 5) {
            error = "optneg macro list cut short";
            return false;
        }
        const auto stage = get32(d, 0);
        d.remove_prefix(4);
        auto nul = d.find('\0');
        if (nul == std::string_view::npos) {
            error = "optneg macro list without NUL";
            return false;
        }
        if (stage < kStageCount) o.macros[stage] = std::string(d.substr(0, nul));
        d.remove_prefix(nul + 1);
    }
    return true;
}

// Name and value of an add/change/insert header reply (after any index).
bool header_pair(std::string_view d, Reply& r, std::string& error) {
    std::vector<std::string_view> s;
    if (!split_strings(d, s) || s.size() != 2 || s[0].empty()) {
        error = "header reply is not name NUL value NUL";
        return false;
    }
    r.name = std::string(s[0]);
    r.value = std::string(s[1]);
    return true;
}

// An address, then optional ESMTP arguments.
bool address_args(std::string_view d, Reply& r, std::string& error, bool args_allowed) {
    std::vector<std::string_view> s;
    if (!split_strings(d, s) || s.empty() || s.size() > (args_allowed ? 2u : 1u)) {
        error = "address reply is not address NUL [args NUL]";
        return false;
    }
    r.name = std::string(s[0]);
    if (s.size() == 2) r.value = std::string(s[1]);
    return true;
}

}  // namespace

std::string packet(char command, std::string_view data) {
    std::string out;
    out.reserve(5 + data.size());
    put32(out, static_cast<std::uint32_t>(data.size() + 1));
    out.push_back(command);
    out.append(data);
    return out;
}

std::string optneg(std::uint32_t version, std::uint32_t actions, std::uint32_t protocol) {
    std::string d;
    put32(d, version);
    put32(d, actions);
    put32(d, protocol);
    return packet('O', d);
}

std::string connect(std::string_view host, char family, std::uint16_t port, std::string_view address) {
    std::string d;
    put_str(d, host);
    d.push_back(family);
    if (family != 'U') {
        d.push_back(static_cast<char>((port >> 8) & 0xff));
        d.push_back(static_cast<char>(port & 0xff));
        put_str(d, address);
    }
    return packet('C', d);
}

std::string helo(std::string_view host) {
    std::string d;
    put_str(d, host);
    return packet('H', d);
}

std::string envelope(char command, std::string_view path, const std::vector<std::string>& args) {
    std::string d;
    put_str(d, path);
    for (const auto& a : args) put_str(d, a);
    return packet(command, d);
}

std::string macros(char stage_command, const Macros& m) {
    std::string d(1, stage_command);
    for (const auto& [name, value] : m) {
        put_str(d, name);
        put_str(d, value);
    }
    return packet('D', d);
}

std::string header(std::string_view name, std::string_view value) {
    std::string d;
    put_str(d, name);
    put_str(d, value);
    return packet('L', d);
}

std::string body(std::string_view data) {
    std::string out;
    while (!data.empty()) {
        auto piece = data.substr(0, kMaxBodyChunk);
        out += packet('B', piece);
        data.remove_prefix(piece.size());
    }
    return out;
}

std::string unknown(std::string_view command_line) {
    std::string d;
    put_str(d, command_line);
    return packet('U', d);
}

Need take_packet(std::string_view buf, Packet& out, std::size_t& consumed, std::string& error, std::size_t max) {
    if (buf.size() < 4) return Need::More;
    const std::uint32_t len = get32(buf, 0);
    if (len == 0) {
        error = "packet of length 0";
        return Need::Error;
    }
    if (len > max) {
        error = "packet of " + std::to_string(len) + " octets (over " + std::to_string(max) + ")";
        return Need::Error;
    }
    if (buf.size() - 4 < len) return Need::More;
    out.command = buf[4];
    out.data.assign(buf.substr(5, len - 1));
    consumed = 4 + static_cast<std::size_t>(len);
    return Need::Packet;
}

bool Reply::final() const {
    switch (kind) {
        case ReplyKind::Accept:
        case ReplyKind::Continue:
        case ReplyKind::Discard:
        case ReplyKind::Reject:
        case ReplyKind::Tempfail:
        case ReplyKind::ReplyCode:
        case ReplyKind::Skip:
        case ReplyKind::OptNeg: return true;
        default: return false;
    }
}

std::optional<Reply> parse_reply(const Packet& p, std::string& error) {
    Reply r;
    std::string_view d = p.data;
    auto no_data = [&](ReplyKind k) -> std::optional<Reply> {
        r.kind = k;
        return r;   // sendmail ignores stray data after these; so do we
    };
    switch (p.command) {
        case 'a': return no_data(ReplyKind::Accept);
        case 'c': return no_data(ReplyKind::Continue);
        case 'd': return no_data(ReplyKind::Discard);
        case 'r': return no_data(ReplyKind::Reject);
        case 't': return no_data(ReplyKind::Tempfail);
        case 's': return no_data(ReplyKind::Skip);
        case 'p': return no_data(ReplyKind::Progress);
        case 'y': {
            r.kind = ReplyKind::ReplyCode;
            auto nul = d.find('\0');
            if (nul != std::string_view::npos) d = d.substr(0, nul);
            if (!parse_reply_code(d, r, error)) return std::nullopt;
            return r;
        }
        case 'h':
            r.kind = ReplyKind::AddHeader;
            if (!header_pair(d, r, error)) return std::nullopt;
            return r;
        case 'm':
        case 'i':
            r.kind = p.command == 'm' ? ReplyKind::ChangeHeader : ReplyKind::InsertHeader;
            if (d.size() < 4) {
                error = "header reply without an index";
                return std::nullopt;
            }
            r.index = get32(d, 0);
            if (!header_pair(d.substr(4), r, error)) return std::nullopt;
            return r;
        case '+':
            r.kind = ReplyKind::AddRcpt;
            if (!address_args(d, r, error, false)) return std::nullopt;
            return r;
        case '2':
            r.kind = ReplyKind::AddRcptPar;
            if (!address_args(d, r, error, true)) return std::nullopt;
            return r;
        case '-':
            r.kind = ReplyKind::DeleteRcpt;
            if (!address_args(d, r, error, false)) return std::nullopt;
            return r;
        case 'e':
            r.kind = ReplyKind::ChangeFrom;
            if (!address_args(d, r, error, true)) return std::nullopt;
            return r;
        case 'b':
            r.kind = ReplyKind::ReplaceBody;
            r.value = std::string(d);
            return r;
        case 'q': {
            r.kind = ReplyKind::Quarantine;
            auto nul = d.find('\0');
            r.value = std::string(d.substr(0, nul));
            return r;
        }
        case 'O':
            r.kind = ReplyKind::OptNeg;
            if (!parse_optneg(d, r.optneg, error)) return std::nullopt;
            return r;
        default: break;
    }
    const auto c = static_cast<unsigned char>(p.command);
    error = c >= 0x21 && c < 0x7f ? std::string("unknown reply '") + p.command + "'"
                                  : "unknown reply 0x" + std::to_string(c);
    return std::nullopt;
}

std::string_view reply_name(ReplyKind k) {
    switch (k) {
        case ReplyKind::Accept: return "accept";
        case ReplyKind::Continue: return "continue";
        case ReplyKind::Discard: return "discard";
        case ReplyKind::Reject: return "reject";
        case ReplyKind::Tempfail: return "tempfail";
        case ReplyKind::ReplyCode: return "replycode";
        case ReplyKind::Skip: return "skip";
        case ReplyKind::Progress: return "progress";
        case ReplyKind::AddHeader: return "addheader";
        case ReplyKind::ChangeHeader: return "chgheader";
        case ReplyKind::InsertHeader: return "insheader";
        case ReplyKind::AddRcpt: return "addrcpt";
        case ReplyKind::AddRcptPar: return "addrcpt_par";
        case ReplyKind::DeleteRcpt: return "delrcpt";
        case ReplyKind::ChangeFrom: return "chgfrom";
        case ReplyKind::ReplaceBody: return "replbody";
        case ReplyKind::Quarantine: return "quarantine";
        case ReplyKind::OptNeg: return "optneg";
    }
    return "?";
}

}  // namespace asmtpd::proto::milter

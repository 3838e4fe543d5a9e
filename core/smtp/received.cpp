// received.cpp - building the Received header; see received.hpp.
#include "core/smtp/received.hpp"

#include <fmt/format.h>

namespace asmtpd::smtp {

namespace {
std::string clean(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (unsigned char c : s) out += (c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c);
    return out;
}
}  // namespace

std::string rfc5322_date(std::time_t now) {
    std::tm tm{};
    localtime_r(&now, &tm);
    char buf[64];
    std::size_t n = std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S %z", &tm);
    return std::string(buf, n);
}

std::string received_protocol(const proto::ConnectionInfo& info, std::string_view forwarded_proto) {
    if (!forwarded_proto.empty()) return clean(forwarded_proto);
    std::string proto = info.hello == proto::Hello::Ehlo ? "ESMTP" : "SMTP";
    if (info.hello == proto::Hello::Ehlo) {
        if (info.tls) proto += "S";
        if (!info.auth_user.empty()) proto += "A";
    }
    return proto;
}

std::string received_from_plugin(std::string_view text) {
    std::string out = "Received: ";
    std::size_t start = 0;
    bool first = true;
    while (start <= text.size()) {
        std::size_t nl = text.find('\n', start);
        std::string_view line = text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
        while (!line.empty() && (line.front() == ' ' || line.front() == '\t' || line.front() == '\r')) line.remove_prefix(1);
        while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) line.remove_suffix(1);
        if (!line.empty()) {
            if (!first) out += "\r\n\t";
            out += clean(line);
            first = false;
        }
        if (nl == std::string_view::npos) break;
        start = nl + 1;
    }
    out += "\r\n";
    return out;
}

std::string received_header(const proto::ConnectionInfo& info, const hooks::Transaction& txn,
                            const std::string& hostname, std::time_t now, std::string_view forwarded_proto) {
    const std::string proto = received_protocol(info, forwarded_proto);
    std::string out = fmt::format("Received: from {} ({} {})\r\n\tby {} (asmtpd) with {} id {}",
                                  clean(info.helo_host.empty() ? "unknown" : info.helo_host),
                                  clean(info.remote_host.empty() ? "unknown" : info.remote_host),
                                  clean(info.remote_literal()), clean(hostname),
                                  proto, clean(txn.id));
    if (info.tls)
        out += fmt::format("\r\n\t(using {} with cipher {})", clean(info.tls_version), clean(info.tls_cipher));
    if (txn.recipients.size() == 1) out += fmt::format("\r\n\tfor {}", clean(txn.recipients.front().format()));
    out += fmt::format("; {}\r\n", rfc5322_date(now));
    return out;
}

}  // namespace asmtpd::smtp

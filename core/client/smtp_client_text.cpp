// smtp_client_text.cpp - the words of the SMTP/LMTP client: names of stages and failures for
// reports and logs, and reading the host name a next hop gives (see smtp_client.hpp).
// Pure: no I/O.
#include <algorithm>
#include <cctype>

#include "core/client/smtp_client.hpp"

namespace asmtpd::client {

std::string_view to_string(Failure f) {
    switch (f) {
        case Failure::None: return "none";
        case Failure::Connect: return "next hop unreachable";
        case Failure::Timeout: return "next hop timed out";
        case Failure::Closed: return "next hop closed the connection";
        case Failure::Protocol: return "next hop protocol error";
        case Failure::Local: return "local error";
        case Failure::Loop: return "mail loops back to me";
        case Failure::Tls: return "TLS with the next hop failed";
        case Failure::Auth: return "authentication at the next hop failed";
    }
    return "?";
}

std::string_view to_string(Stage s) {
    switch (s) {
        case Stage::Connect: return "connect";
        case Stage::Greeting: return "greeting";
        case Stage::Hello: return "EHLO";
        case Stage::Mail: return "MAIL";
        case Stage::Rcpt: return "RCPT";
        case Stage::Data: return "DATA";
        case Stage::Body: return "message transfer";
        case Stage::DataEnd: return "final dot";
        case Stage::Done: return "done";
    }
    return "?";
}

bool reply_names_host(const proto::Reply& r, std::string_view host) {
    if (r.lines.empty() || host.empty()) return false;
    const std::string& first = r.lines.front();
    std::string word = first.substr(0, first.find(' '));
    if (!word.empty() && word.back() == '.') word.pop_back();
    if (word.size() != host.size()) return false;
    return std::equal(word.begin(), word.end(), host.begin(), [](char a, char b) {
        return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
    });
}

}  // namespace asmtpd::client

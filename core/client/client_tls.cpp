// client_tls.cpp - see client_tls.hpp.
#include "core/client/client_tls.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>

#include "core/io/tls.hpp"

namespace asmtpd::client {

std::shared_ptr<io::TlsContext> client_tls_context(bool verify, const std::string& ca_file, std::string& error) {
    auto ctx = io::TlsContext::load_client("TLSv1.2", "", error);
    if (!ctx) return nullptr;
    if (!ca_file.empty() && !ctx->load_ca_file(ca_file, error)) return nullptr;
    ctx->verify_peer(verify);
    return ctx;
}

std::optional<std::string> load_client_security(ClientSecurity& s) {
    if (s.tls != TlsMode::None) {
        std::string error;
        s.context = client_tls_context(s.verify, s.ca_file, error);
        if (!s.context) return error;
    }
    if (!s.auth_pass_file.empty()) {
        std::ifstream in(s.auth_pass_file);
        if (!in) return "auth_pass_file " + s.auth_pass_file + ": " + std::strerror(errno);
        std::string line;
        std::getline(in, line);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty()) return "auth_pass_file " + s.auth_pass_file + ": the first line (the password) is empty";
        s.auth_pass = std::move(line);
    }
    return std::nullopt;
}

}  // namespace asmtpd::client

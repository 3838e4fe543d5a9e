// client_tls.cpp - see client_tls.hpp.
#include "core/client/client_tls.hpp"

#include "core/io/tls.hpp"

namespace asmtpd::client {

std::shared_ptr<io::TlsContext> client_tls_context(bool verify, const std::string& ca_file, std::string& error) {
    auto ctx = io::TlsContext::load_client("TLSv1.2", "", error);
    if (!ctx) return nullptr;
    if (!ca_file.empty() && !ctx->load_ca_file(ca_file, error)) return nullptr;
    ctx->verify_peer(verify);
    return ctx;
}

}  // namespace asmtpd::client

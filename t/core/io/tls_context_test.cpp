// tls_context_test.cpp - tests core/io/tls_context.cpp: loading certificates, keys (also in
// one file, also encrypted: refused without prompting), protocol floors and cipher lists,
// with errors that name the file or setting. Handshake-level policy (client certificates,
// peer verification, version floors) is exercised in tls_verify_test.cpp over real connections.
#include "core/io/tls.hpp"

#include <doctest/doctest.h>
#include <openssl/ssl.h>

#include <string>

#include "t/core/io/tls_certs.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::io;
using asmtpd::io::test::certs;
using asmtpd::io::test::Certs;

TEST_CASE("TlsContext: load errors name the file or setting and OpenSSL's reason") {
    const Certs& c = certs();
    std::string error;
    CHECK(TlsContext::load_server("/nonexistent/chain.pem", c.server_key, "TLSv1.2", "", error) == nullptr);
    CHECK(error.find("tls cert /nonexistent/chain.pem: ") == 0);
    CHECK(error.find("No such file") != std::string::npos);

    error.clear();
    CHECK(TlsContext::load_server(c.server_cert, "/nonexistent/key.pem", "TLSv1.2", "", error) == nullptr);
    CHECK(error.find("tls key /nonexistent/key.pem: ") == 0);

    error.clear();   // a key that belongs to another certificate
    CHECK(TlsContext::load_server(c.server_cert, c.client_key, "TLSv1.2", "", error) == nullptr);
    CHECK(error.find("tls key " + c.client_key) == 0);

    error.clear();   // not PEM at all
    CHECK(TlsContext::load_server(c.server_cert, c.server_cert, "TLSv1.2", "", error) == nullptr);
    CHECK(error.find("tls key " + c.server_cert) == 0);

    error.clear();   // an encrypted key fails at once instead of prompting for a passphrase
    CHECK(TlsContext::load_server(c.server_cert, c.encrypted_key, "TLSv1.2", "", error) == nullptr);
    CHECK(error.find("tls key " + c.encrypted_key) == 0);

    error.clear();
    CHECK(TlsContext::load_server(c.server_cert, c.server_key, "TLSv1.4", "", error) == nullptr);
    CHECK(error.find("tls min_version \"TLSv1.4\"") == 0);
    error.clear();
    CHECK(TlsContext::load_server(c.server_cert, c.server_key, "", "", error) == nullptr);
    CHECK(error.find("tls min_version") == 0);

    error.clear();
    CHECK(TlsContext::load_server(c.server_cert, c.server_key, "TLSv1.2", "NO-SUCH-CIPHER", error) == nullptr);
    CHECK(error.find("tls ciphers \"NO-SUCH-CIPHER\": ") == 0);
    CHECK(error.find("no cipher match") != std::string::npos);

    error.clear();
    CHECK(TlsContext::load_client("SSLv3", "", error) == nullptr);
    CHECK_FALSE(error.empty());

    error.clear();
    auto ctx = TlsContext::load_server(c.server_cert, c.server_key, "TLSv1.2", "", error);
    REQUIRE(ctx);
    CHECK_FALSE(ctx->load_ca_file("/nonexistent/ca.pem", error));
    CHECK(error.find("tls ca /nonexistent/ca.pem: ") == 0);
}

TEST_CASE("TlsContext: certificate and key may share one file; every min_version name loads") {
    const Certs& c = certs();
    std::string error;
    auto ctx = TlsContext::load_server(c.combined, c.combined, "TLSv1.3", "", error);
    REQUIRE_MESSAGE(ctx != nullptr, error);
    CHECK(ctx->is_server());
    CHECK(SSL_CTX_get_min_proto_version(ctx->native()) == TLS1_3_VERSION);
    for (const char* v : {"TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"}) {
        CAPTURE(v);
        CHECK(TlsContext::load_server(c.server_cert, c.server_key, v, "", error) != nullptr);
        CHECK(TlsContext::load_client(v, "", error) != nullptr);
    }
    CHECK(TlsContext::load_server(c.server_cert, c.server_key, "TLSv1.2", "ECDHE-RSA-AES256-GCM-SHA384", error) != nullptr);
}

}  // namespace ASMTPD_TEST_UNIT

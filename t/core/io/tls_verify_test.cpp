// tls_verify_test.cpp - tests the peer checks of core/io/tls.cpp (TlsTransport with TlsContext)
// end to end over loopback: client certificates requested, reported and verified against the
// configured CA; a client's verify_peer (CA and name); min_version refusing older clients.
#include "core/io/tls.hpp"

#include <doctest/doctest.h>
#include <openssl/ssl.h>

#include <string>

#include "t/core/io/test_loop.hpp"
#include "t/core/io/tls_certs.hpp"
#include "t/core/io/tls_peers.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::io;
using namespace asmtpd::io::test::tls_peers;
using asmtpd::io::test::TestLoop;
using asmtpd::io::test::Certs;
using asmtpd::io::test::certs;
using asmtpd::io::test::client_ctx;
using asmtpd::io::test::server_ctx;

TEST_CASE("client certificates: requested, reported, verified only against the configured CA") {
    const Certs& c = certs();
    for (int variant = 0; variant < 3; ++variant) {
        CAPTURE(variant);
        TestLoop loop;
        auto sctx = server_ctx();
        sctx->request_client_cert(true);
        std::string error;
        if (variant == 2) REQUIRE(sctx->load_ca_file(c.client_cert, error));
        auto cctx = client_ctx();
        if (variant >= 1) REQUIRE_MESSAGE(cctx->use_certificate(c.client_cert, c.client_key, error), error);
        TlsServer server(loop, sctx);
        TlsClient client(loop, server.port(), cctx);
        handshake(loop, server, client);
        if (variant == 0) {
            CHECK(server.tls->peer_certificate_subject().empty());
            CHECK_FALSE(server.tls->peer_certificate_verified());
        } else {
            CHECK(server.tls->peer_certificate_subject() == "CN=client");
            CHECK(server.tls->peer_certificate_verified() == (variant == 2));
        }
    }
}

TEST_CASE("client verify_peer: CA and name must match, else the handshake fails on both sides") {
    const Certs& c = certs();
    struct Case {
        const char* name;
        bool load_ca;
        bool ok;
    };
    for (Case k : {Case{"localhost", true, true}, Case{"wrong.example", true, false}, Case{"localhost", false, false}}) {
        CAPTURE(k.name);
        CAPTURE(k.load_ca);
        TestLoop loop;
        auto cctx = client_ctx();
        std::string error;
        if (k.load_ca) REQUIRE(cctx->load_ca_file(c.server_cert, error));
        cctx->verify_peer(true);
        TlsServer server(loop, server_ctx());
        TlsClient client(loop, server.port(), cctx, k.name);
        REQUIRE(loop.run_until([&] { return client.hs.calls > 0 && server.hs.calls > 0; }));
        CHECK(client.hs.ok == k.ok);
        CHECK(server.hs.ok == k.ok);
        if (!k.ok) {
            CHECK(client.hs.error.find("TLS handshake: ") == 0);
            CHECK(client.hs.error.find("certificate verify failed") != std::string::npos);
        } else {
            CHECK(client.tls->peer_certificate_verified());
        }
    }
}

TEST_CASE("min_version TLSv1.2 refuses a client that speaks at most TLS 1.1, and 1.3 refuses 1.2") {
    struct Case {
        const char* server_min;
        int client_max;
    };
    for (Case k : {Case{"TLSv1.2", TLS1_1_VERSION}, Case{"TLSv1.3", TLS1_2_VERSION}}) {
        CAPTURE(k.server_min);
        TestLoop loop;
        auto cctx = client_ctx("TLSv1");   // security level 0: the client can offer old versions
        SSL_CTX_set_max_proto_version(cctx->native(), k.client_max);
        TlsServer server(loop, server_ctx(k.server_min));
        TlsClient client(loop, server.port(), cctx);
        REQUIRE(loop.run_until([&] { return server.hs.calls > 0 && client.hs.calls > 0; }));
        CHECK_FALSE(server.hs.ok);
        CHECK(server.hs.error.find("unsupported protocol") != std::string::npos);
        CHECK_FALSE(client.hs.ok);
        CHECK(client.hs.error.find("TLS handshake: ") == 0);
    }
    // A TLS 1.1 floor does serve that client (the level drops with the floor).
    TestLoop loop;
    auto cctx = client_ctx("TLSv1");
    SSL_CTX_set_max_proto_version(cctx->native(), TLS1_1_VERSION);
    TlsServer server(loop, server_ctx("TLSv1.1"));
    TlsClient client(loop, server.port(), cctx);
    handshake(loop, server, client);
    CHECK(server.tls->version() == "TLSv1.1");
}

}  // namespace ASMTPD_TEST_UNIT

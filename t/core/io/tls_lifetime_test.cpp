// tls_lifetime_test.cpp - tests that the owner of a core/io/tls.cpp TlsTransport may destroy or
// close it from inside its own callbacks (handshake, on_read with records pending, on_eof).
#include "core/io/tls.hpp"

#include <doctest/doctest.h>

#include <string_view>

#include "t/core/io/test_loop.hpp"
#include "t/core/io/tls_certs.hpp"
#include "t/core/io/tls_peers.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::io;
using namespace asmtpd::io::test::tls_peers;
using asmtpd::io::test::pattern;
using asmtpd::io::test::TestLoop;
using asmtpd::io::test::client_ctx;
using asmtpd::io::test::server_ctx;

TEST_CASE("the owner may destroy the transport from inside its callbacks") {
    SUBCASE("inside the handshake callback") {
        TestLoop loop;
        TlsServer server(loop, server_ctx());
        server.hs.hook = [&] { server.tls.reset(); };
        TlsClient client(loop, server.port(), client_ctx());
        REQUIRE(loop.run_until([&] { return server.hs.calls > 0; }));
        CHECK(server.tls == nullptr);
        loop.run_for(50);
    }
    SUBCASE("inside on_read, with more records pending") {
        TestLoop loop;
        Recorder srec;
        TlsServer server(loop, server_ctx());
        TlsClient client(loop, server.port(), client_ctx());
        handshake(loop, server, client);
        srec.on_read_hook = [&](std::string_view) { server.tls.reset(); };
        server.tls->set_listener(&srec);
        client.tls->write(pattern(100 * 1024, 9));
        REQUIRE(loop.run_until([&] { return srec.reads > 0; }));
        loop.run_for(50);
        CHECK(srec.reads == 1);
    }
    SUBCASE("inside on_eof") {
        TestLoop loop;
        Recorder srec;
        TlsServer server(loop, server_ctx());
        TlsClient client(loop, server.port(), client_ctx());
        handshake(loop, server, client);
        srec.on_eof_hook = [&] { server.tls.reset(); };
        server.tls->set_listener(&srec);
        client.tls->close_after_flush();
        REQUIRE(loop.run_until([&] { return srec.eofs > 0; }));
        CHECK(server.tls == nullptr);
    }
    SUBCASE("close_now from on_read: no further callbacks") {
        TestLoop loop;
        Recorder srec;
        TlsServer server(loop, server_ctx());
        TlsClient client(loop, server.port(), client_ctx());
        handshake(loop, server, client);
        srec.on_read_hook = [&](std::string_view) { server.tls->close_now(); };
        server.tls->set_listener(&srec);
        client.tls->write(pattern(100 * 1024, 9));
        REQUIRE(loop.run_until([&] { return srec.reads > 0; }));
        loop.run_for(50);
        CHECK(srec.reads == 1);
        CHECK(srec.eofs == 0);
    }
}

}  // namespace ASMTPD_TEST_UNIT

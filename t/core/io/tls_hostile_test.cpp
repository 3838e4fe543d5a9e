// tls_hostile_test.cpp - tests core/io/tls.cpp (a server TlsTransport) against raw byte clients
// over loopback: garbage instead of a ClientHello, a peer that closes before or during the
// handshake, and a client that stalls mid-handshake.
#include "core/io/tls.hpp"

#include <doctest/doctest.h>

#include <cstddef>
#include <string>

#include "t/core/io/test_loop.hpp"
#include "t/core/io/tls_certs.hpp"
#include "t/core/io/tls_peers.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::io;
using namespace asmtpd::io::test::tls_peers;
using asmtpd::io::test::pattern;
using asmtpd::io::test::TestClient;
using asmtpd::io::test::TestLoop;
using asmtpd::io::test::server_ctx;

TEST_CASE("garbage instead of a ClientHello: callback(false) once, nothing read, no crash") {
    const std::string inputs[] = {
        "EHLO client.example\r\n",                                   // plaintext SMTP
        pattern(4096, 11),                                            // random bytes
        std::string("\x16\x03\x01\x00\x05", 5) + "\xff\xff\xff\xff\xff",   // a record that is no hello
        std::string("\x16\x03\x01\xff\xff", 5) + pattern(2000, 5),     // a record that claims 64 KiB
        std::string("\x80\x2b\x01\x00\x02", 5) + pattern(40, 2),       // an SSLv2 hello
    };
    for (const std::string& garbage : inputs) {
        CAPTURE(garbage.size());
        TestLoop loop;
        Recorder srec;
        TlsServer server(loop, server_ctx());
        TestClient raw(loop.get(), server.port());
        REQUIRE(loop.run_until([&] { return raw.connected && server.tls != nullptr; }));
        server.tls->set_listener(&srec);
        raw.send(garbage);
        if (garbage.size() == 2005 || garbage.size() == 10) raw.close();   // truncated record: EOF decides
        REQUIRE(loop.run_until([&] { return server.hs.calls > 0; }));
        CHECK_FALSE(server.hs.ok);
        CHECK(server.hs.error.find("TLS handshake: ") == 0);
        CHECK(server.hs.error.size() > 16);
        CHECK_FALSE(server.tls->handshake_done());
        CHECK(server.tls->version().empty());
        server.tls->write("ignored");   // after a failure: no effect, no crash
        server.tls->close_after_flush();
        loop.run_for(30);
        CHECK(server.hs.calls == 1);
        CHECK(srec.reads == 0);
        CHECK(srec.eofs == 0);   // a handshake failure goes to the callback only
    }
}

TEST_CASE("a peer that closes before or during the handshake") {
    for (int cut : {0, 1, 40}) {
        CAPTURE(cut);
        TestLoop loop;
        TlsServer server(loop, server_ctx());
        std::string hello = client_hello(loop);
        REQUIRE(hello.size() > 100);
        TestClient raw(loop.get(), server.port());
        REQUIRE(loop.run_until([&] { return raw.connected && server.tls != nullptr; }));
        if (cut > 0) raw.send(hello.substr(0, static_cast<std::size_t>(cut)));
        loop.run_for(20);
        raw.close();
        REQUIRE(loop.run_until([&] { return server.hs.calls > 0; }));
        CHECK_FALSE(server.hs.ok);
        CHECK(server.hs.error == "TLS handshake: connection closed by the peer");
    }
}

TEST_CASE("a client that stalls mid-handshake: nothing happens until the owner's deadline") {
    TestLoop loop;
    Recorder srec;
    TlsServer server(loop, server_ctx());
    std::string hello = client_hello(loop);
    TestClient raw(loop.get(), server.port());
    REQUIRE(loop.run_until([&] { return raw.connected && server.tls != nullptr; }));
    server.tls->set_listener(&srec);
    raw.send(hello.substr(0, hello.size() / 2));
    loop.run_for(300);
    CHECK(server.hs.calls == 0);
    CHECK_FALSE(server.tls->handshake_done());
    CHECK(raw.received.empty());   // the server has not answered half a hello
    // The session's deadline: it closes the connection. No callback of any kind follows.
    server.tls->close_now();
    CHECK(server.tls->closed());
    raw.send(hello.substr(hello.size() / 2));
    REQUIRE(loop.run_until([&] { return raw.finished(); }));
    loop.run_for(30);
    CHECK(server.hs.calls == 0);
    CHECK(srec.eofs == 0);
}

}  // namespace ASMTPD_TEST_UNIT

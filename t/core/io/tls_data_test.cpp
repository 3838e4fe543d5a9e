// tls_data_test.cpp - tests core/io/tls.cpp (TlsTransport) on a real loop over loopback, a
// server TlsTransport against a client one: the handshake and its facts, TLS 1.2, 10 MB each
// way, pausing with decrypted data pending, data before set_listener, close_after_flush with
// close_notify, and a TCP close without it.
#include "core/io/tls.hpp"

#include <doctest/doctest.h>
#include <openssl/ssl.h>

#include <string>
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

TEST_CASE("TLS 1.3 echo between a server and a client TlsTransport; facts; client close_notify") {
    TestLoop loop;
    Recorder srec, crec;
    TlsServer server(loop, server_ctx());
    TlsClient client(loop, server.port(), client_ctx());
    handshake(loop, server, client);
    TlsTransport& s = *server.tls;
    TlsTransport& c = *client.tls;

    CHECK(s.handshake_done());
    CHECK(s.version() == "TLSv1.3");
    CHECK(c.version() == "TLSv1.3");
    CHECK_FALSE(s.cipher().empty());
    CHECK(s.cipher() == c.cipher());
    CHECK(s.cipher_bits() >= 128);
    CHECK(s.peer_certificate_subject().empty());   // none asked for
    CHECK_FALSE(s.peer_certificate_verified());
    CHECK(c.peer_certificate_subject() == "CN=localhost");
    CHECK_FALSE(c.peer_certificate_verified());   // self-signed, and verification is off

    srec.on_read_hook = [&](std::string_view b) { s.write("echo:" + std::string(b)); };
    s.set_listener(&srec);
    c.set_listener(&crec);
    c.write("EHLO client\r\n");
    REQUIRE(loop.run_until([&] { return crec.data == "echo:EHLO client\r\n"; }));
    CHECK(srec.data == "EHLO client\r\n");
    CHECK(server.hs.calls == 1);
    CHECK(client.hs.calls == 1);

    c.close_after_flush();
    CHECK(c.closed());
    REQUIRE(loop.run_until([&] { return srec.eofs == 1; }));
    CHECK(s.close_notify_received());
    loop.run_for(30);
    CHECK(srec.eofs == 1);
    CHECK(crec.eofs == 0);   // nothing reaches a listener after close_after_flush
}

TEST_CASE("a client limited to TLS 1.2 negotiates TLS 1.2 with an ECDHE cipher") {
    TestLoop loop;
    auto cctx = client_ctx();
    SSL_CTX_set_max_proto_version(cctx->native(), TLS1_2_VERSION);
    TlsServer server(loop, server_ctx());
    TlsClient client(loop, server.port(), cctx);
    handshake(loop, server, client);
    CHECK(server.tls->version() == "TLSv1.2");
    CHECK(server.tls->cipher().find("ECDHE") == 0);
}

TEST_CASE("10 MB each way: echoed in order; queued_bytes drains to zero; on_drained fires") {
    TestLoop loop;
    Recorder srec, crec;
    TlsServer server(loop, server_ctx());
    TlsClient client(loop, server.port(), client_ctx());
    handshake(loop, server, client);
    TlsTransport& s = *server.tls;
    TlsTransport& c = *client.tls;
    srec.on_read_hook = [&](std::string_view b) { s.write(std::string(b)); };
    s.set_listener(&srec);
    c.set_listener(&crec);

    const std::string big = pattern(10 * 1024 * 1024, 7);
    // The client reads nothing at first, so the echo backs up in the server's queue: its
    // on_drained (a non-zero -> zero transition) is then certain, whatever the scheduling.
    c.pause_reading();
    c.write(big);
    CHECK(c.queued_bytes() > 0);   // far more than a socket buffer
    REQUIRE(loop.run_until([&] { return s.queued_bytes() > 0; }, 60000));
    c.resume_reading();
    REQUIRE(loop.run_until([&] { return crec.data.size() >= big.size(); }, 60000));
    CHECK(srec.data.size() == big.size());
    CHECK(srec.data == big);
    CHECK(crec.data == big);
    REQUIRE(loop.run_until([&] { return s.queued_bytes() == 0 && c.queued_bytes() == 0; }));
    CHECK(crec.drains >= 1);
    CHECK(srec.drains >= 1);
}

TEST_CASE("pause with decrypted data pending: nothing more until resume, then all of it, later") {
    TestLoop loop;
    Recorder srec, crec;
    TlsServer server(loop, server_ctx());
    TlsClient client(loop, server.port(), client_ctx());
    handshake(loop, server, client);
    TlsTransport& s = *server.tls;
    TlsTransport& c = *client.tls;
    c.set_listener(&crec);

    srec.on_read_hook = [&](std::string_view) {
        if (srec.reads == 1) s.pause_reading();   // first record only; the rest stays buffered
    };
    s.set_listener(&srec);
    const std::string msg = pattern(200 * 1024, 3);   // > 12 TLS records, one socket write
    c.write(msg);
    REQUIRE(loop.run_until([&] { return srec.reads == 1; }));
    loop.run_for(150);
    CHECK(srec.reads == 1);
    CHECK(srec.data.size() <= 16 * 1024);
    // Meanwhile other reads on this loop reuse the loop's read buffer: what the server holds
    // must be its own copy, not a view into that buffer.
    s.write(pattern(300 * 1024, 5));
    REQUIRE(loop.run_until([&] { return crec.data.size() == 300 * 1024; }));
    CHECK(crec.data == pattern(300 * 1024, 5));
    CHECK(srec.reads == 1);
    const std::size_t before = srec.data.size();

    s.resume_reading();
    CHECK(srec.data.size() == before);   // never delivered from inside resume_reading()
    REQUIRE(loop.run_until([&] { return srec.data.size() == msg.size(); }));
    CHECK(srec.data == msg);

    // Pausing again and having the client close: the end is reported only after the data.
    srec.on_read_hook = [&](std::string_view) { s.pause_reading(); };
    const std::size_t have = srec.data.size();
    c.write(pattern(64 * 1024, 4));
    c.close_after_flush();
    REQUIRE(loop.run_until([&] { return srec.data.size() > have; }));
    loop.run_for(100);
    CHECK(srec.eofs == 0);
    for (int i = 0; i < 100 && srec.eofs == 0; ++i) {
        s.resume_reading();
        loop.run_for(10);
    }
    CHECK(srec.data.size() == have + 64 * 1024);
    CHECK(srec.data.substr(have) == pattern(64 * 1024, 4));
    CHECK(srec.eofs == 1);
    CHECK(s.close_notify_received());
}

TEST_CASE("paused or listener-less through the handshake: data waits, then arrives after set_listener") {
    TestLoop loop;
    Recorder srec, crec;
    auto sctx = server_ctx();
    TlsServer server(loop, sctx);
    // Paused from the start: the handshake must still complete (the inner reads regardless).
    server.hs.hook = [&] { server.tls->pause_reading(); };
    TlsClient client(loop, server.port(), client_ctx());
    REQUIRE(loop.run_until([&] { return client.tls != nullptr; }));
    client.tls->write("written before the handshake\r\n");   // queued as plaintext
    CHECK(client.tls->queued_bytes() >= 30);
    handshake(loop, server, client);
    TlsTransport& s = *server.tls;

    s.set_listener(&srec);
    loop.run_for(100);
    CHECK(srec.data.empty());   // still paused
    s.resume_reading();
    CHECK(srec.data.empty());
    REQUIRE(loop.run_until([&] { return srec.data == "written before the handshake\r\n"; }));

    // No listener: data waits; set_listener delivers it from the loop, not from inside.
    s.set_listener(nullptr);
    client.tls->write("while nobody listens\r\n");
    loop.run_for(100);
    Recorder later;
    s.set_listener(&later);
    CHECK(later.data.empty());
    REQUIRE(loop.run_until([&] { return later.data == "while nobody listens\r\n"; }));
    CHECK(srec.data == "written before the handshake\r\n");
}

TEST_CASE("server close_after_flush: the reply arrives, then close_notify, then EOF") {
    TestLoop loop;
    Recorder srec, crec;
    TlsServer server(loop, server_ctx());
    TlsClient client(loop, server.port(), client_ctx());
    handshake(loop, server, client);
    server.tls->set_listener(&srec);
    client.tls->set_listener(&crec);

    server.tls->write("221 2.0.0 Bye\r\n");
    server.tls->close_after_flush();
    server.tls->close_after_flush();   // idempotent
    CHECK(server.tls->closed());
    server.tls->write("dropped after close");
    REQUIRE(loop.run_until([&] { return crec.eofs == 1; }));
    CHECK(crec.data == "221 2.0.0 Bye\r\n");
    CHECK(client.tls->close_notify_received());
    CHECK(server.tls->version() == "TLSv1.3");   // facts survive the close
    server.tls.reset();   // the inner goes on flushing on its own
    loop.run_for(50);
    CHECK(srec.eofs == 0);
}

TEST_CASE("a TCP close without close_notify is an EOF, reported as truncation") {
    TestLoop loop;
    Recorder srec, crec;
    TlsServer server(loop, server_ctx());
    TlsClient client(loop, server.port(), client_ctx());
    handshake(loop, server, client);
    server.tls->set_listener(&srec);
    client.tls->write("partial");
    REQUIRE(loop.run_until([&] { return srec.data == "partial"; }));
    client.tls.reset();   // drops the socket: no close_notify
    REQUIRE(loop.run_until([&] { return srec.eofs == 1; }));
    CHECK_FALSE(server.tls->close_notify_received());
}

}  // namespace ASMTPD_TEST_UNIT

// tls_test.cpp - tests core/io/tls.cpp (TlsTransport) on a real loop over loopback: a server
// TlsTransport (over an accepted TcpStream) against a client TlsTransport (over
// io::connect_tcp), raw byte clients (garbage, stalled, truncated handshakes) and the real
// `openssl s_client`; client certificates and peer verification of TlsContext end to end.
#include "core/io/tls.hpp"

#include <doctest/doctest.h>
#include <openssl/ssl.h>

#include <atomic>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "core/io/connector.hpp"
#include "core/io/listener.hpp"
#include "t/core/io/test_loop.hpp"
#include "t/core/io/tls_certs.hpp"

using namespace asmtpd::io;
using asmtpd::io::test::pattern;
using asmtpd::io::test::TestClient;
using asmtpd::io::test::TestLoop;
using asmtpd::io::test::Certs;
using asmtpd::io::test::certs;
using asmtpd::io::test::client_ctx;
using asmtpd::io::test::server_ctx;
using asmtpd::io::test::slurp;

namespace {

// ---- recording listeners -------------------------------------------------------------------

struct Recorder : StreamListener {
    std::string data;
    int reads = 0, eofs = 0, drains = 0;
    std::function<void(std::string_view)> on_read_hook;
    std::function<void()> on_eof_hook;
    void on_read(std::string_view b) override {
        ++reads;
        data.append(b);
        if (on_read_hook) on_read_hook(b);
    }
    void on_eof() override {
        ++eofs;
        if (on_eof_hook) on_eof_hook();
    }
    void on_drained() override { ++drains; }
};

struct Handshake {
    int calls = 0;
    bool ok = false;
    std::string error;
    std::function<void()> hook;
};

TlsTransport::HandshakeCallback record(Handshake& h) {
    return [&h](bool ok, std::string error) {
        ++h.calls;
        h.ok = ok;
        h.error = std::move(error);
        if (h.hook) h.hook();
    };
}

// A loopback listener whose first accepted connection is wrapped as a TLS server.
struct TlsServer {
    TestLoop& loop;
    std::shared_ptr<TlsContext> ctx;
    std::unique_ptr<Listener> listener;
    std::unique_ptr<TlsTransport> tls;
    Handshake hs;

    TlsServer(TestLoop& l, std::shared_ptr<TlsContext> c) : loop(l), ctx(std::move(c)) {
        std::string error;
        listener = Listener::bind(loop.get(), "127.0.0.1", 0, false, [this](std::unique_ptr<TcpStream> s_stream) {
            auto tcp = std::move(s_stream);
            REQUIRE(tcp != nullptr);
            tls = std::make_unique<TlsTransport>(loop.get(), std::move(tcp), ctx, TlsRole::Server, record(hs));
        }, error);
        REQUIRE_MESSAGE(listener != nullptr, error);
    }
    std::uint16_t port() const { return listener->port(); }
};

// A client TlsTransport over io::connect_tcp.
struct TlsClient {
    std::unique_ptr<Connecting> attempt;
    std::unique_ptr<TlsTransport> tls;
    Handshake hs;
    std::string connect_error;

    TlsClient(TestLoop& loop, std::uint16_t port, std::shared_ptr<TlsContext> ctx, std::string server_name = "localhost") {
        attempt = connect_tcp(loop.get(), "127.0.0.1", port, 2000,
                              [this, &loop, ctx, server_name](std::unique_ptr<Transport> s, std::string e) {
                                  connect_error = e;
                                  if (!s) return;
                                  tls = std::make_unique<TlsTransport>(loop.get(), std::move(s), ctx, TlsRole::Client,
                                                                       record(hs), server_name);
                              });
    }
};

// Runs both handshakes to the end.
void handshake(TestLoop& loop, TlsServer& server, TlsClient& client) {
    REQUIRE(loop.run_until([&] { return server.hs.calls > 0 && client.hs.calls > 0; }));
    REQUIRE_MESSAGE(server.hs.ok, server.hs.error);
    REQUIRE_MESSAGE(client.hs.ok, client.hs.error);
}

// Collects a client's first flight (ClientHello) by running a client TlsTransport over a
// transport that only records what is written.
struct CaptureTransport : Transport {
    std::string* out;
    explicit CaptureTransport(std::string* o) : out(o) {}
    void set_listener(StreamListener*) override {}
    void write(std::string b) override { out->append(b); }
    std::size_t queued_bytes() const override { return 0; }
    void pause_reading() override {}
    void resume_reading() override {}
    void close_after_flush() override {}
    void close_now() override {}
    bool closed() const override { return false; }
};

std::string client_hello(TestLoop& loop) {
    std::string hello;
    Handshake hs;
    {
        TlsTransport t(loop.get(), std::make_unique<CaptureTransport>(&hello), client_ctx(), TlsRole::Client,
                       record(hs), "localhost");
    }
    CHECK(hs.calls == 0);
    return hello;
}

}  // namespace

// ---- handshake, data, facts ----------------------------------------------------------------

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
    c.write(big);
    CHECK(c.queued_bytes() > 0);   // far more than a socket buffer
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

// ---- hostile and broken peers ------------------------------------------------------------

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

// ---- lifetime --------------------------------------------------------------------------------

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

// ---- interop ---------------------------------------------------------------------------------

TEST_CASE("openssl s_client as the client: lines echoed, QUIT answered and closed with close_notify") {
    for (const char* proto_flag : {"", "-tls1_2"}) {
        CAPTURE(proto_flag);
        TestLoop loop;
        Recorder srec;
        TlsServer server(loop, server_ctx());
        std::string lines;
        srec.on_read_hook = [&](std::string_view b) {
            lines.append(b);
            std::size_t eol;
            while ((eol = lines.find("\r\n")) != std::string::npos) {
                std::string line = lines.substr(0, eol);
                lines.erase(0, eol + 2);
                if (line == "QUIT") {
                    server.tls->write("221 bye\r\n");
                    server.tls->close_after_flush();
                    return;
                }
                server.tls->write("echo " + line + "\r\n");
            }
        };
        server.hs.hook = [&] { server.tls->set_listener(&srec); };

        const Certs& c = certs();
        const std::string out = c.dir + "/s_client.out";
        const std::string cmd = "printf 'hello\\r\\nsecond line\\r\\nQUIT\\r\\n' | timeout 20 openssl s_client -connect 127.0.0.1:" +
                                std::to_string(server.port()) + " -servername localhost -quiet " + proto_flag + " > " +
                                out + " 2>" + c.dir + "/s_client.err";
        std::atomic<bool> done{false};
        int rc = -1;
        std::thread runner([&] {
            rc = std::system(cmd.c_str());
            done = true;
        });
        bool finished = loop.run_until([&] { return done.load(); }, 25000);
        runner.join();
        REQUIRE(finished);
        CHECK(rc == 0);
        REQUIRE(server.hs.calls == 1);
        CHECK(server.hs.ok);
        CHECK(server.tls->version() == (proto_flag[0] ? "TLSv1.2" : "TLSv1.3"));
        CHECK(slurp(out) == "echo hello\r\necho second line\r\n221 bye\r\n");
    }
}

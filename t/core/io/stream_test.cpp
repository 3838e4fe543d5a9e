// stream_test.cpp - io::TcpStream on a real loop and loopback sockets: echo, queued writes and
// on_drained, pause/resume, close_after_flush, destruction at awkward moments, error reporting.
#include "core/io/stream.hpp"

#include <doctest/doctest.h>

#include <functional>
#include <memory>
#include <string>

#include "core/io/listener.hpp"
#include "t/core/io/test_loop.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::io;
using asmtpd::io::test::pattern;
using asmtpd::io::test::TestClient;
using asmtpd::io::test::TestLoop;

namespace {

// Records every callback; optional hooks let a test act from inside one.
struct Recorder : StreamListener {
    std::string data;
    int reads = 0, eofs = 0, drains = 0;
    bool in_write = false;   // set by tests around write() to catch synchronous callbacks
    int callbacks_during_write = 0;
    std::function<void(std::string_view)> on_read_hook;
    std::function<void()> on_eof_hook, on_drained_hook;

    void on_read(std::string_view b) override {
        if (in_write) ++callbacks_during_write;
        ++reads;
        data.append(b);
        if (on_read_hook) on_read_hook(b);
    }
    void on_eof() override {
        if (in_write) ++callbacks_during_write;
        ++eofs;
        if (on_eof_hook) on_eof_hook();
    }
    void on_drained() override {
        if (in_write) ++callbacks_during_write;
        ++drains;
        if (on_drained_hook) on_drained_hook();
    }
};

// A listener on 127.0.0.1:0 whose accepted streams land in `accepted`.
struct Server {
    std::unique_ptr<Listener> listener;
    std::unique_ptr<TcpStream> accepted;
    int connections = 0;

    explicit Server(uv_loop_t* loop, const std::string& ip = "127.0.0.1") {
        std::string error;
        listener = Listener::bind(loop, ip, 0, false, [this](std::unique_ptr<TcpStream> server_stream) {
            ++connections;
            accepted = std::move(server_stream);
        }, error);
        REQUIRE_MESSAGE(listener != nullptr, error);
    }
    std::uint16_t port() const { return listener->port(); }
};

// Connects a client and returns once the server has accepted it.
void connect(TestLoop& loop, Server& server, TestClient& client) {
    REQUIRE(loop.run_until([&] { return client.connected && server.accepted != nullptr; }));
}

}  // namespace

TEST_CASE("echo, addresses of both ends, and EOF reported once") {
    TestLoop loop;
    Recorder rec;   // outlives the stream it listens to
    Server server(loop.get());
    TestClient client(loop.get(), server.port());
    connect(loop, server, client);
    TcpStream& s = *server.accepted;

    CHECK(s.peer_ip() == "127.0.0.1");
    CHECK(s.peer_port() == client.local_port());
    CHECK(s.local_ip() == "127.0.0.1");
    CHECK(s.local_port() == server.port());
    CHECK_FALSE(s.closed());

    rec.on_read_hook = [&](std::string_view b) { s.write(std::string(b)); };
    s.set_listener(&rec);
    client.send("EHLO there\r\n");
    REQUIRE(loop.run_until([&] { return client.received == "EHLO there\r\n"; }));
    client.send("QUIT\r\n");
    REQUIRE(loop.run_until([&] { return client.received == "EHLO there\r\nQUIT\r\n"; }));
    CHECK(rec.data == "EHLO there\r\nQUIT\r\n");
    CHECK(s.queued_bytes() == 0);
    CHECK(rec.drains == 0);   // everything went out through try_write; nothing was ever queued

    client.close();
    REQUIRE(loop.run_until([&] { return rec.eofs > 0; }));
    loop.run_for(30);
    CHECK(rec.eofs == 1);
    s.resume_reading();   // after EOF: a no-op, not a second EOF
    loop.run_for(30);
    CHECK(rec.eofs == 1);
}

TEST_CASE("nothing is read before a listener is set") {
    TestLoop loop;
    Recorder rec;   // outlives the stream it listens to
    Server server(loop.get());
    TestClient client(loop.get(), server.port());
    connect(loop, server, client);
    client.send("early bytes");
    loop.run_for(50);
    server.accepted->set_listener(&rec);
    REQUIRE(loop.run_until([&] { return rec.data == "early bytes"; }));
}

TEST_CASE("a write larger than the socket buffer is queued, drains in order, on_drained once") {
    TestLoop loop;
    Recorder rec;   // outlives the stream it listens to
    Server server(loop.get());
    TestClient client(loop.get(), server.port(), "127.0.0.1", /*read=*/false);
    connect(loop, server, client);
    TcpStream& s = *server.accepted;
    s.set_listener(&rec);

    const std::string big = pattern(24 * 1024 * 1024, 7);
    rec.in_write = true;
    s.write(big);
    s.write("tail-1");   // must queue behind big, not jump ahead through try_write
    s.write("");         // ignored
    s.write("tail-2");
    rec.in_write = false;
    const std::size_t queued = s.queued_bytes();
    CHECK(queued > 0);
    CHECK(queued <= big.size() + 12);
    loop.run_for(50);    // client not reading: nothing drains
    CHECK(rec.drains == 0);
    CHECK(s.queued_bytes() == queued);

    client.start_reading();
    REQUIRE(loop.run_until([&] { return rec.drains > 0; }, 20000));
    CHECK(s.queued_bytes() == 0);
    REQUIRE(loop.run_until([&] { return client.received.size() == big.size() + 12; }, 20000));
    CHECK(client.received.substr(0, big.size()) == big);
    CHECK(client.received.substr(big.size()) == "tail-1tail-2");
    loop.run_for(30);
    CHECK(rec.drains == 1);
    CHECK(rec.callbacks_during_write == 0);

    // A second round drains again: on_drained fires for each non-zero -> zero transition.
    client.stop_reading();
    s.write(pattern(24 * 1024 * 1024, 8));
    CHECK(s.queued_bytes() > 0);
    client.start_reading();
    REQUIRE(loop.run_until([&] { return rec.drains == 2; }, 20000));
}

TEST_CASE("pause and resume reading, both idempotent") {
    TestLoop loop;
    Recorder rec;   // outlives the stream it listens to
    Server server(loop.get());
    TestClient client(loop.get(), server.port());
    connect(loop, server, client);
    TcpStream& s = *server.accepted;
    s.pause_reading();   // before the listener: set_listener must not start reading
    s.set_listener(&rec);
    s.pause_reading();
    client.send("MAIL FROM:<a@b>\r\n");
    loop.run_for(60);
    CHECK(rec.reads == 0);
    s.resume_reading();
    s.resume_reading();
    REQUIRE(loop.run_until([&] { return rec.data == "MAIL FROM:<a@b>\r\n"; }));

    // Pausing from inside on_read stops delivery until resume.
    rec.on_read_hook = [&](std::string_view) { s.pause_reading(); };
    client.send("RCPT TO:<c@d>\r\n");
    REQUIRE(loop.run_until([&] { return rec.reads == 2; }));
    client.send("DATA\r\n");
    loop.run_for(60);
    CHECK(rec.reads == 2);
    rec.on_read_hook = nullptr;
    s.resume_reading();
    REQUIRE(loop.run_until([&] { return rec.data == "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n"; }));
}

TEST_CASE("close_after_flush delivers everything, then EOF at the client, and no callbacks") {
    TestLoop loop;
    Recorder rec;   // outlives the stream it listens to
    Server server(loop.get());
    TestClient client(loop.get(), server.port(), "127.0.0.1", false);
    connect(loop, server, client);
    TcpStream& s = *server.accepted;
    s.set_listener(&rec);

    const std::string big = pattern(16 * 1024 * 1024, 11);
    s.write(big);
    s.write("221 2.0.0 Bye\r\n");
    REQUIRE(s.queued_bytes() > 0);
    s.close_after_flush();
    CHECK(s.closed());
    s.write("dropped");          // after close: ignored
    s.close_after_flush();       // idempotent
    client.send("ignored input");
    client.start_reading();
    REQUIRE(loop.run_until([&] { return client.finished(); }, 20000));
    CHECK(client.eof);
    CHECK(client.received.size() == big.size() + 15);
    CHECK(client.received == big + "221 2.0.0 Bye\r\n");
    CHECK(rec.reads == 0);
    CHECK(rec.eofs == 0);
    CHECK(rec.drains == 0);
}

TEST_CASE("close_after_flush with nothing queued closes at once") {
    TestLoop loop;
    Server server(loop.get());
    TestClient client(loop.get(), server.port());
    connect(loop, server, client);
    server.accepted->write("421 4.3.2 Shutting down\r\n");
    server.accepted->close_after_flush();
    REQUIRE(loop.run_until([&] { return client.finished(); }));
    CHECK(client.eof);
    CHECK(client.received == "421 4.3.2 Shutting down\r\n");
}

TEST_CASE("destroying the TcpStream after close_after_flush lets the flush finish") {
    TestLoop loop;
    Server server(loop.get());
    TestClient client(loop.get(), server.port(), "127.0.0.1", false);
    connect(loop, server, client);
    const std::string big = pattern(16 * 1024 * 1024, 12);
    server.accepted->write(big);
    REQUIRE(server.accepted->queued_bytes() > 0);
    server.accepted->close_after_flush();
    server.accepted.reset();   // the session is gone; the reply still reaches the client
    client.start_reading();
    REQUIRE(loop.run_until([&] { return client.finished(); }, 20000));
    CHECK(client.eof);
    CHECK(client.received == big);
}

TEST_CASE("the flush timeout bounds close_after_flush against a client that never reads") {
    TestLoop loop;
    Server server(loop.get());
    TestClient client(loop.get(), server.port(), "127.0.0.1", false);
    connect(loop, server, client);
    const std::string big = pattern(32 * 1024 * 1024, 13);
    server.accepted->set_flush_timeout(80);
    server.accepted->write(big);
    REQUIRE(server.accepted->queued_bytes() > 0);
    server.accepted->close_after_flush();
    server.accepted.reset();
    loop.run_for(200);   // past the deadline the socket is closed with output still queued
    client.start_reading();
    REQUIRE(loop.run_until([&] { return client.finished(); }, 20000));
    CHECK(client.received.size() < big.size());
    CHECK(client.received == big.substr(0, client.received.size()));
}

TEST_CASE("destroying the TcpStream mid-write drops the queue without leaks") {
    TestLoop loop;
    Recorder rec;   // outlives the stream it listens to
    Server server(loop.get());
    TestClient client(loop.get(), server.port(), "127.0.0.1", false);
    connect(loop, server, client);
    server.accepted->set_listener(&rec);
    for (int i = 0; i < 8; ++i) server.accepted->write(pattern(4 * 1024 * 1024, 20 + i));
    REQUIRE(server.accepted->queued_bytes() > 0);
    server.accepted.reset();
    client.start_reading();
    REQUIRE(loop.run_until([&] { return client.finished(); }, 20000));
    CHECK(client.received.size() < 32u * 1024 * 1024);
    CHECK(rec.eofs == 0);
    CHECK(rec.drains == 0);
}

TEST_CASE("close_now from inside on_read: no further callbacks") {
    TestLoop loop;
    Recorder rec;   // outlives the stream it listens to
    Server server(loop.get());
    TestClient client(loop.get(), server.port());
    connect(loop, server, client);
    TcpStream& s = *server.accepted;
    rec.on_read_hook = [&](std::string_view) { s.close_now(); };
    s.set_listener(&rec);
    client.send("first");
    REQUIRE(loop.run_until([&] { return rec.reads == 1; }));
    CHECK(s.closed());
    s.close_now();         // idempotent
    s.write("after");      // ignored
    s.resume_reading();    // ignored
    CHECK(s.queued_bytes() == 0);
    REQUIRE(loop.run_until([&] { return client.finished(); }));
    loop.run_for(30);
    CHECK(rec.reads == 1);
    CHECK(rec.eofs == 0);
    CHECK(s.peer_ip() == "127.0.0.1");   // still answerable after close
}

TEST_CASE("the listener may destroy the stream from inside on_read and on_eof") {
    TestLoop loop;
    Server server(loop.get());
    {
        TestClient client(loop.get(), server.port());
        connect(loop, server, client);
        Recorder rec;
        rec.on_read_hook = [&](std::string_view) { server.accepted.reset(); };
        server.accepted->set_listener(&rec);
        server.accepted->write(pattern(8 * 1024 * 1024, 30));   // queued output too
        client.send("x");
        REQUIRE(loop.run_until([&] { return server.accepted == nullptr; }));
        REQUIRE(loop.run_until([&] { return client.finished(); }, 20000));
        CHECK(rec.reads == 1);
    }
    {
        TestClient client(loop.get(), server.port());
        server.accepted.reset();
        connect(loop, server, client);
        Recorder rec;
        rec.on_eof_hook = [&] { server.accepted.reset(); };
        server.accepted->set_listener(&rec);
        client.close();
        REQUIRE(loop.run_until([&] { return server.accepted == nullptr; }));
        CHECK(rec.eofs == 1);
    }
}

TEST_CASE("a reset peer: on_eof once, later writes dropped, never reported from inside write()") {
    TestLoop loop;
    Recorder rec;   // outlives the stream it listens to
    Server server(loop.get());
    TestClient client(loop.get(), server.port());
    connect(loop, server, client);
    TcpStream& s = *server.accepted;
    s.set_listener(&rec);
    s.pause_reading();   // the read side must not notice: the write path has to
    client.reset();
    loop.run_for(50);
    CHECK(rec.eofs == 0);

    rec.in_write = true;
    for (int i = 0; i < 3; ++i) s.write("250 OK\r\n");   // EPIPE/ECONNRESET, not SIGPIPE
    rec.in_write = false;
    CHECK(rec.callbacks_during_write == 0);
    REQUIRE(loop.run_until([&] { return rec.eofs == 1; }));
    s.write("more");
    s.resume_reading();
    loop.run_for(50);
    CHECK(rec.eofs == 1);
    CHECK(s.queued_bytes() == 0);
}

TEST_CASE("a reset while output is queued fails the queue and reports on_eof once") {
    TestLoop loop;
    Recorder rec;   // outlives the stream it listens to
    Server server(loop.get());
    TestClient client(loop.get(), server.port(), "127.0.0.1", false);
    connect(loop, server, client);
    TcpStream& s = *server.accepted;
    s.set_listener(&rec);
    s.pause_reading();
    for (int i = 0; i < 4; ++i) s.write(pattern(8 * 1024 * 1024, 40 + i));
    REQUIRE(s.queued_bytes() > 0);
    client.reset();
    REQUIRE(loop.run_until([&] { return rec.eofs == 1; }, 20000));
    REQUIRE(loop.run_until([&] { return s.queued_bytes() == 0; }, 20000));
    loop.run_for(30);
    CHECK(rec.eofs == 1);
    CHECK(rec.drains == 0);   // a failed queue is not "drained"
}

TEST_CASE("IPv6 loopback: addresses read back as ::1") {
    TestLoop loop;
    std::string error;
    std::unique_ptr<TcpStream> accepted;
    auto l = Listener::bind(loop.get(), "::1", 0, false, [&](std::unique_ptr<TcpStream> srv_stream) { accepted = std::move(srv_stream); }, error);
    if (!l) {
        MESSAGE("no IPv6 loopback here: " << error);
        return;
    }
    TestClient client(loop.get(), l->port(), "::1");
    REQUIRE(loop.run_until([&] { return accepted != nullptr && client.connected; }));
    CHECK(accepted->peer_ip() == "::1");
    CHECK(accepted->local_ip() == "::1");
    CHECK(accepted->local_port() == l->port());
    CHECK(accepted->peer_port() == client.local_port());
}

TEST_CASE("IPv4 clients on a dual-stack :: listener read as plain IPv4") {
    TestLoop loop;
    std::string error;
    std::unique_ptr<TcpStream> accepted;
    auto l = Listener::bind(loop.get(), "::", 0, false, [&](std::unique_ptr<TcpStream> srv_stream) { accepted = std::move(srv_stream); }, error);
    if (!l) {
        MESSAGE("no IPv6 here: " << error);
        return;
    }
    TestClient client(loop.get(), l->port(), "127.0.0.1");
    if (!loop.run_until([&] { return accepted != nullptr || client.connect_status < 0; }) || !accepted) {
        MESSAGE("dual-stack sockets disabled (bindv6only)");
        return;
    }
    CHECK(accepted->peer_ip() == "127.0.0.1");
    CHECK(accepted->local_ip() == "127.0.0.1");
}

namespace {

int tcp_handles(uv_loop_t* loop) {
    int n = 0;
    uv_walk(loop, [](uv_handle_t* h, void* arg) {
        if (uv_handle_get_type(h) == UV_TCP && !uv_is_closing(h)) ++*static_cast<int*>(arg);
    }, &n);
    return n;
}

}  // namespace

TEST_CASE("lingering close: after our FIN the socket waits for the peer's, at most 2 s") {
    TestLoop loop;
    Server server(loop.get());
    auto client = std::make_unique<TestClient>(loop.get(), server.port());
    connect(loop, server, *client);
    server.accepted->write("221 2.0.0 Bye\r\n");
    server.accepted->close_after_flush();
    server.accepted.reset();
    REQUIRE(loop.run_until([&] { return client->finished(); }));
    CHECK(client->eof);
    CHECK(client->received == "221 2.0.0 Bye\r\n");
    loop.run_for(100);
    // The listener is a poll handle, not a TCP one: only the two ends of the connection count.
    CHECK(tcp_handles(loop.get()) == 2);   // client, and the lingering server side
    client.reset();                        // the client's FIN ends the linger
    REQUIRE(loop.run_until([&] { return tcp_handles(loop.get()) == 0; }));

    // A peer that never closes: the linger gives up after about 2 s.
    TestClient stubborn(loop.get(), server.port());
    connect(loop, server, stubborn);
    server.accepted->close_after_flush();
    server.accepted.reset();
    REQUIRE(loop.run_until([&] { return stubborn.finished(); }));
    loop.run_for(1500);
    CHECK(tcp_handles(loop.get()) == 2);
    CHECK(loop.run_until([&] { return tcp_handles(loop.get()) == 1; }, 3000));
}

TEST_CASE("cut_lingering_closes: an exiting process does not wait for peers that keep their sockets") {
    TestLoop loop;
    Server server(loop.get());
    TestClient stubborn(loop.get(), server.port());
    connect(loop, server, stubborn);
    server.accepted->write("421 4.3.2 bye\r\n");
    server.accepted->close_after_flush();
    server.accepted.reset();
    REQUIRE(loop.run_until([&] { return stubborn.finished(); }));
    CHECK(stubborn.received == "421 4.3.2 bye\r\n");
    CHECK(tcp_handles(loop.get()) == 2);
    CHECK(TcpStream::cut_lingering_closes() == 1);
    loop.run_for(20);
    CHECK(tcp_handles(loop.get()) == 1);   // only the stubborn client is left
    CHECK(TcpStream::cut_lingering_closes() == 0);
}

}  // namespace ASMTPD_TEST_UNIT

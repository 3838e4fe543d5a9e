// dovecot_auth_test.cpp - tests core/client/dovecot_auth.cpp against a scripted stand-in for
// Dovecot's auth server on loopback, on the test's own loop: one connection for many requests,
// requests made before DONE, answers out of order, FAIL with and without "temp", CONT, a
// protocol version or mechanism list it cannot use, a server that closes or never speaks (each
// failing what was pending, the next request reconnecting). The real Dovecot runs in
// t/e2e/test_auth_dovecot.py.
#include "core/client/dovecot_auth.hpp"

#include <doctest/doctest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/io/listener.hpp"
#include "core/io/reactor.hpp"
#include "core/io/stream.hpp"
#include "core/proto/sasl.hpp"
#include "t/core/io/test_loop.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;

namespace {

using Loop = io::test::TestLoop;
constexpr std::string_view kHandshake = "VERSION\t1\t2\nMECH\tPLAIN\tplaintext\nMECH\tLOGIN\tplaintext\n"
                                        "SPID\t1\nCUID\t1\nCOOKIE\tabc\nDONE\n";

// Accepts connections; `greeting` is sent at once (unless empty), every complete line the
// client sends is recorded and handed to `on_line`, which may answer through `send`.
class AuthPeer {
public:
    std::string greeting{kHandshake};
    std::function<void(AuthPeer&, const std::string&)> on_line;
    std::vector<std::string> lines;
    int connections = 0;

    explicit AuthPeer(uv_loop_t* loop) {
        std::string error;
        listener_ = io::Listener::bind(loop, "127.0.0.1", 0, false, [this](std::unique_ptr<io::TcpStream> s) {
            ++connections;
            conns_.push_back(std::make_unique<Conn>(this, std::move(s)));
        }, error);
        REQUIRE_MESSAGE(listener_, error);
    }
    ~AuthPeer() { close_all(); }

    client::NextHop target() const {
        client::NextHop h;
        h.host = "127.0.0.1";
        h.port = listener_->port();
        return h;
    }
    void send(const std::string& bytes) { conns_.back()->stream->write(bytes); }
    void close_all() {
        for (auto& c : conns_) c->stream->close_now();
    }

private:
    struct Conn final : io::StreamListener {
        Conn(AuthPeer* p, std::unique_ptr<io::TcpStream> s) : peer(p), stream(std::move(s)) {
            stream->set_listener(this);
            if (!peer->greeting.empty()) stream->write(peer->greeting);
        }
        void on_read(std::string_view bytes) override {
            buf.append(bytes);
            for (auto lf = buf.find('\n'); lf != std::string::npos; lf = buf.find('\n')) {
                std::string line = buf.substr(0, lf);
                buf.erase(0, lf + 1);
                peer->lines.push_back(line);
                if (peer->on_line) peer->on_line(*peer, line);
            }
        }
        void on_eof() override { stream->close_now(); }
        AuthPeer* peer;
        std::unique_ptr<io::TcpStream> stream;
        std::string buf;
    };
    std::unique_ptr<io::Listener> listener_;
    std::vector<std::unique_ptr<Conn>> conns_;
};

struct Answer {
    bool done = false;
    int calls = 0;
    client::DovecotAuthAnswer a;
};

void ask(const std::shared_ptr<client::DovecotAuthClient>& c, const std::string& user, const std::string& pw,
         Answer& out) {
    client::DovecotAuthQuery q;
    q.user = user;
    q.password = pw;
    q.local_ip = "127.0.0.1";
    q.remote_ip = "192.0.2.9";
    q.local_port = 587;
    q.remote_port = 40001;
    q.secured = true;
    c->authenticate(q, [&out](client::DovecotAuthAnswer a) {
        ++out.calls;
        out.done = true;
        out.a = std::move(a);
    });
    CHECK_FALSE(out.done);   // never from inside authenticate()
}

// "AUTH\t<id>\t..." -> id
std::string id_of(const std::string& line) { return line.substr(5, line.find('\t', 5) - 5); }

}  // namespace

TEST_CASE("dovecot auth client: one connection, requests before DONE wait, answers by id") {
    Loop loop;
    AuthPeer peer(loop.get());
    peer.greeting.clear();   // the handshake comes only after the client's VERSION
    std::vector<std::string> auth_lines;
    peer.on_line = [&](AuthPeer& p, const std::string& line) {
        if (line.starts_with("CPID\t")) p.send(std::string(kHandshake));
        if (!line.starts_with("AUTH\t")) return;
        auth_lines.push_back(line);
        if (auth_lines.size() == 2) {   // answer the second first
            p.send("FAIL\t" + id_of(auth_lines[1]) + "\tuser=bob\treason=Password expired\n");
            p.send("OK\t" + id_of(auth_lines[0]) + "\tuser=alice@example.test\n");
        }
    };
    auto c = client::DovecotAuthClient::create(io::Reactor(loop.get()), peer.target(), 2000);
    Answer a1, a2;
    ask(c, "alice", "pw\tx", a1);
    ask(c, "bob", "wrong", a2);
    REQUIRE(loop.run_until([&] { return a1.done && a2.done; }));
    CHECK(a1.a.verdict == client::DovecotVerdict::Ok);
    CHECK(a1.a.user == "alice@example.test");
    CHECK(a2.a.verdict == client::DovecotVerdict::Fail);
    CHECK(a2.a.detail == "Password expired");
    REQUIRE(peer.lines.size() == 4);
    CHECK(peer.lines[0] == "VERSION\t1\t1");
    CHECK(peer.lines[1].starts_with("CPID\t"));
    CHECK(auth_lines[0] == "AUTH\t1\tPLAIN\tservice=smtp\tnologin\tlip=127.0.0.1\trip=192.0.2.9\tlport=587\t"
                           "rport=40001\tsecured\tresp=" + proto::base64_encode(std::string("\0alice\0pw\tx", 11)));

    // The connection stays for the next request.
    peer.on_line = [](AuthPeer& p, const std::string& line) {
        if (line.starts_with("AUTH\t")) p.send("OK\t" + id_of(line) + "\n");
    };
    Answer a3;
    ask(c, "carol", "pw", a3);
    REQUIRE(loop.run_until([&] { return a3.done; }));
    CHECK(a3.a.verdict == client::DovecotVerdict::Ok);
    CHECK(peer.connections == 1);
    CHECK(c->connections_made() == 1);
    CHECK(a1.calls == 1);
    CHECK(a2.calls == 1);
    c->shutdown();
    loop.run_for(20);
    CHECK_FALSE(c->connected());
}

TEST_CASE("dovecot auth client: temporary answers") {
    Loop loop;
    AuthPeer peer(loop.get());
    auto c = client::DovecotAuthClient::create(io::Reactor(loop.get()), peer.target(), 2000);
    Answer a;
    SUBCASE("FAIL temp") {
        peer.on_line = [](AuthPeer& p, const std::string& line) {
            if (line.starts_with("AUTH\t")) p.send("FAIL\t" + id_of(line) + "\ttemp\n");
        };
        ask(c, "alice", "pw", a);
        REQUIRE(loop.run_until([&] { return a.done; }));
        CHECK(a.a.verdict == client::DovecotVerdict::Temporary);
    }
    SUBCASE("FAIL code=temp_fail") {
        peer.on_line = [](AuthPeer& p, const std::string& line) {
            if (line.starts_with("AUTH\t")) p.send("FAIL\t" + id_of(line) + "\tcode=temp_fail\n");
        };
        ask(c, "alice", "pw", a);
        REQUIRE(loop.run_until([&] { return a.done; }));
        CHECK(a.a.verdict == client::DovecotVerdict::Temporary);
    }
    SUBCASE("CONT after PLAIN's initial response") {
        peer.on_line = [](AuthPeer& p, const std::string& line) {
            if (line.starts_with("AUTH\t")) p.send("CONT\t" + id_of(line) + "\t\n");
        };
        ask(c, "alice", "pw", a);
        REQUIRE(loop.run_until([&] { return a.done; }));
        CHECK(a.a.verdict == client::DovecotVerdict::Temporary);
        CHECK(a.a.detail.find("CONT") != std::string::npos);
    }
    CHECK(a.calls == 1);
}

TEST_CASE("dovecot auth client: a server it cannot use fails what is pending; the next request reconnects") {
    Loop loop;
    AuthPeer peer(loop.get());
    auto c = client::DovecotAuthClient::create(io::Reactor(loop.get()), peer.target(), 500);
    Answer a;
    SUBCASE("protocol version 2") {
        peer.greeting = "VERSION\t2\t0\nMECH\tPLAIN\nDONE\n";
        ask(c, "alice", "pw", a);
        REQUIRE(loop.run_until([&] { return a.done; }));
        CHECK(a.a.detail == "the server speaks protocol version 2.0");
    }
    SUBCASE("no PLAIN") {
        peer.greeting = "VERSION\t1\t2\nMECH\tLOGIN\tplaintext\nDONE\n";
        ask(c, "alice", "pw", a);
        REQUIRE(loop.run_until([&] { return a.done; }));
        CHECK(a.a.detail == "the server offers no PLAIN mechanism");
    }
    SUBCASE("a malformed answer") {
        peer.on_line = [](AuthPeer& p, const std::string& line) {
            if (line.starts_with("AUTH\t")) p.send("OK\tx\n");
        };
        ask(c, "alice", "pw", a);
        REQUIRE(loop.run_until([&] { return a.done; }));
        CHECK(a.a.detail == "protocol error: bad request id");
    }
    SUBCASE("the server closes") {
        peer.on_line = [](AuthPeer& p, const std::string& line) {
            if (line.starts_with("AUTH\t")) p.close_all();
        };
        ask(c, "alice", "pw", a);
        REQUIRE(loop.run_until([&] { return a.done; }));
        CHECK(a.a.detail == "the server closed the connection");
    }
    SUBCASE("the server never speaks") {
        peer.greeting.clear();
        ask(c, "alice", "pw", a);
        REQUIRE(loop.run_until([&] { return a.done; }));
        CHECK(a.a.detail == "no answer within 500 ms (the handshake did not end)");
    }
    CHECK(a.a.verdict == client::DovecotVerdict::Temporary);
    CHECK(a.calls == 1);
    CHECK_FALSE(c->connected());

    // A working server again: the next request opens a new connection.
    peer.greeting = std::string(kHandshake);
    peer.on_line = [](AuthPeer& p, const std::string& line) {
        if (line.starts_with("AUTH\t")) p.send("OK\t" + id_of(line) + "\n");
    };
    Answer again;
    ask(c, "alice", "pw", again);
    REQUIRE(loop.run_until([&] { return again.done; }));
    CHECK(again.a.verdict == client::DovecotVerdict::Ok);
    CHECK(c->connections_made() == 2);
    c->shutdown();
    loop.run_for(20);
}

TEST_CASE("dovecot auth client: nobody listens") {
    Loop loop;
    client::NextHop gone;
    gone.unix_socket = true;
    gone.path = "/nonexistent/asmtpd-test/auth";
    auto c = client::DovecotAuthClient::create(io::Reactor(loop.get()), gone, 1000);
    Answer a;
    ask(c, "alice", "pw", a);
    REQUIRE(loop.run_until([&] { return a.done; }));
    CHECK(a.a.verdict == client::DovecotVerdict::Temporary);
    CHECK_FALSE(a.a.detail.empty());
    CHECK(a.calls == 1);
}

}  // namespace ASMTPD_TEST_UNIT

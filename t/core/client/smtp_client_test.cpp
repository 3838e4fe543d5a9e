// smtp_client_test.cpp - tests core/client/smtp_client.cpp (through smtp_pool.cpp) against a
// real SMTP server on loopback that the test runs on the same loop: a scripted peer that
// answers each command as the test says and records what it got. Covers a pipelined delivery with
// dot-stuffing of the body, a refused recipient, a refused greeting, a malformed
// reply and a next hop that never answers.
#include "core/client/smtp_pool.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <uv.h>

#include "core/io/listener.hpp"
#include "core/io/spool.hpp"
#include "core/io/stream.hpp"
#include "t/core/io/test_loop.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;

namespace {

using Loop = io::test::TestLoop;

// The peer: greets with `greeting`, then answers each command line by its verb from `replies`
// (default "250 ok"); after DATA's reply it collects the body up to CRLF.CRLF and answers
// `final_reply`. An empty reply means "say nothing". Records commands and the raw body.
class ScriptedPeer final : public io::StreamListener {
public:
    std::string greeting = "220 peer.test ESMTP\r\n";
    std::map<std::string, std::string> replies = {
        {"EHLO", "250-peer.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n"}, {"DATA", "354 go\r\n"}, {"QUIT", "221 bye\r\n"}};
    std::string final_reply = "250 2.0.0 queued\r\n";
    std::vector<std::string> rcpt_replies;   // the Nth RCPT gets the Nth, when given
    std::vector<std::string> commands;
    std::string body;

    explicit ScriptedPeer(uv_loop_t* loop) {
        std::string error;
        listener_ = io::Listener::bind(loop, "127.0.0.1", 0, false, [this](std::unique_ptr<io::TcpStream> accepted) {
            stream_ = std::move(accepted);
            REQUIRE(stream_);
            stream_->set_listener(this);
            if (!greeting.empty()) stream_->write(greeting);
        }, error);
        REQUIRE_MESSAGE(listener_, error);
    }
    ~ScriptedPeer() override { close(); }
    void close() {
        if (listener_) listener_->close();
        if (stream_) stream_->close_now();
    }
    std::string hop() const { return "127.0.0.1:" + std::to_string(listener_->port()); }

    void on_read(std::string_view bytes) override {
        buf_.append(bytes);
        for (;;) {
            if (in_body_) {
                auto end = buf_.find("\r\n.\r\n");
                if (end == std::string::npos) return;
                body = buf_.substr(0, end + 2);
                buf_.erase(0, end + 5);
                in_body_ = false;
                stream_->write(final_reply);
                continue;
            }
            auto nl = buf_.find("\r\n");
            if (nl == std::string::npos) return;
            std::string line = buf_.substr(0, nl);
            buf_.erase(0, nl + 2);
            commands.push_back(line);
            std::string verb = line.substr(0, line.find_first_of(" :"));
            auto it = replies.find(verb);
            std::string answer = it != replies.end() ? it->second : "250 ok\r\n";
            if (verb == "RCPT" && rcpt_count_ < rcpt_replies.size()) answer = rcpt_replies[rcpt_count_++];
            if (verb == "DATA" && answer.rfind("354", 0) == 0) in_body_ = true;
            if (!answer.empty()) stream_->write(answer);
        }
    }
    void on_eof() override {}

private:
    std::unique_ptr<io::Listener> listener_;
    std::unique_ptr<io::TcpStream> stream_;
    std::string buf_;
    bool in_body_ = false;
    std::size_t rcpt_count_ = 0;
};

struct Client {
    Loop& loop;
    std::FILE* log_file = std::tmpfile();
    io::Logger logger{io::Level::Debug, log_file};
    std::shared_ptr<client::SmtpPool> pool;

    Client(Loop& l, const std::string& hop, std::vector<std::string> extra = {}) : loop(l) {
        std::vector<std::string> args = {hop};
        args.insert(args.end(), extra.begin(), extra.end());
        client::ClientConfig config;
        REQUIRE_FALSE(client::parse_client_config(args, client::NextHopProtocol::Smtp, config));
        pool = client::SmtpPool::create(loop.get(), config, "me.test");
    }
    ~Client() {
        pool->shutdown();
        pool.reset();
        std::fclose(log_file);
    }

    client::Envelope envelope(std::vector<std::string> rcpts, const std::string& content) {
        client::Envelope e;
        e.id = "t.1";
        e.sender = "<s@example.test>";
        e.recipients = std::move(rcpts);
        e.header_prefix = "Received: from test\r\n";
        e.body = io::Spool::create(loop.get(), "/tmp", 1 << 20);
        e.body->append(content);
        bool finished = false;
        e.body->finish([&](bool ok) { finished = ok; });
        REQUIRE(loop.run_until([&] { return finished; }));
        return e;
    }

    std::optional<client::DeliveryReport> deliver(client::Envelope e) {
        std::optional<client::DeliveryReport> got;
        pool->deliver(std::move(e), io::Log(&logger, 1, "test"), [] { return true; },
                      [&](client::DeliveryReport r) { got = std::move(r); });
        loop.run_until([&] { return got.has_value(); });
        return got;
    }
};

}  // namespace

TEST_CASE("smtp_client: a pipelined delivery; the body is dot-stuffed after the header prefix") {
    Loop loop;
    ScriptedPeer peer(loop.get());
    Client c(loop, peer.hop());
    auto e = c.envelope({"<a@example.test>", "<b@example.test>"}, "Subject: x\r\n\r\n.dot line\r\nend\r\n");
    auto r = c.deliver(e);
    REQUIRE(r);
    CHECK(r->complete());
    CHECK(r->failure == client::Failure::None);
    REQUIRE(r->rcpt_replies.size() == 2);
    REQUIRE(r->final_replies.size() == 1);
    CHECK(r->final_replies[0].code == 250);
    CHECK(r->dot_sent);
    REQUIRE(peer.commands.size() >= 5);
    CHECK(peer.commands[0] == "EHLO me.test");
    CHECK(peer.commands[1].rfind("MAIL FROM:<s@example.test>", 0) == 0);
    CHECK(peer.commands[2] == "RCPT TO:<a@example.test>");
    CHECK(peer.commands[3] == "RCPT TO:<b@example.test>");
    CHECK(peer.commands[4] == "DATA");
    CHECK(peer.body == "Received: from test\r\nSubject: x\r\n\r\n..dot line\r\nend\r\n");
}

TEST_CASE("smtp_client: a refused recipient stops the transaction before DATA (all or nothing)") {
    Loop loop;
    ScriptedPeer peer(loop.get());
    // Without PIPELINING the client sends one RCPT at a time, so each can get its own answer.
    peer.replies["EHLO"] = "250 peer.test\r\n";
    peer.rcpt_replies = {"550 5.1.1 no such user\r\n", "250 ok\r\n"};
    Client c(loop, peer.hop());
    auto got = c.deliver(c.envelope({"<a@example.test>", "<b@example.test>"}, "x\r\n"));
    REQUIRE(got);
    REQUIRE(got->rcpt_replies.size() == 2);
    CHECK(got->rcpt_replies[0].code == 550);
    CHECK(got->rcpt_replies[0].esc == "5.1.1");
    CHECK(got->rcpt_replies[1].code == 250);
    CHECK(got->stage == client::Stage::Rcpt);
    REQUIRE(got->refusal);
    CHECK(got->refusal->code == 550);
    CHECK(got->final_replies.empty());
    CHECK_FALSE(got->dot_sent);
    CHECK(std::find(peer.commands.begin(), peer.commands.end(), "DATA") == peer.commands.end());
    CHECK(peer.body.empty());
}

TEST_CASE("smtp_client: a refused greeting stops at Greeting with the peer's reply") {
    Loop loop;
    ScriptedPeer peer(loop.get());
    peer.greeting = "554 5.7.1 go away\r\n";
    Client c(loop, peer.hop());
    auto r = c.deliver(c.envelope({"<a@example.test>"}, "x\r\n"));
    REQUIRE(r);
    CHECK_FALSE(r->complete());
    CHECK(r->stage == client::Stage::Greeting);
    REQUIRE(r->refusal);
    CHECK(r->refusal->code == 554);
    CHECK_FALSE(r->dot_sent);
    CHECK(peer.body.empty());
}

TEST_CASE("smtp_client: a malformed reply is a protocol failure, nothing is sent after it") {
    Loop loop;
    ScriptedPeer peer(loop.get());
    peer.replies["MAIL"] = "250-ok\r\n354 mixed codes\r\n";
    Client c(loop, peer.hop());
    auto r = c.deliver(c.envelope({"<a@example.test>"}, "x\r\n"));
    REQUIRE(r);
    CHECK(r->failure == client::Failure::Protocol);
    CHECK_FALSE(r->dot_sent);
    CHECK(peer.body.empty());
}

TEST_CASE("smtp_client: a next hop that never greets times out at the command timeout") {
    Loop loop;
    ScriptedPeer peer(loop.get());
    peer.greeting.clear();
    Client c(loop, peer.hop(), {"timeout", "0.2"});
    auto started = uv_now(loop.get());
    auto r = c.deliver(c.envelope({"<a@example.test>"}, "x\r\n"));
    REQUIRE(r);
    CHECK(r->failure == client::Failure::Timeout);
    CHECK(r->stage == client::Stage::Greeting);
    CHECK(uv_now(loop.get()) - started >= 200);
}

}  // namespace ASMTPD_TEST_UNIT

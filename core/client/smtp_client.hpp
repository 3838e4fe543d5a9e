// smtp_client.hpp - one client connection to the next hop (SMTP or LMTP) and the delivery of
// one message over it: the state machine shared by queue/smtp_forward and queue/lmtp.
//
// Protocol: greeting, EHLO (HELO if EHLO is refused; LHLO for LMTP), STARTTLS and a second
// EHLO, then AUTH, when ClientConfig::security asks (smtp_client_secure.cpp), then per message: RSET
// when the connection was used before (it doubles as a liveness probe), MAIL FROM with SIZE=
// (and BODY=8BITMIME / SMTPUTF8 when the client gave them and the next hop offers them),
// RCPT TO for every recipient (pipelined with MAIL when PIPELINING is offered), DATA only if
// every recipient was accepted, the header prefix and body dot-stuffed from the spool in
// 64 KiB pieces (the next piece is read only when the socket has taken the previous ones),
// the final dot, and the final reply (LMTP: one per recipient).
// Rules: every wait has a deadline; nothing is ever buffered without a bound; the final dot
// is never sent unless the job is still wanted (the session still waits for the answer), so a
// timed-out or vanished session cannot produce a delivery it will never acknowledge. A
// connection reports to its ConnectionOwner (the pool) and never calls it from its destructor.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <uv.h>

#include "core/io/connector.hpp"
#include "core/io/log.hpp"
#include "core/io/spool.hpp"
#include "core/io/stream.hpp"
#include "core/io/timer.hpp"
#include "core/proto/dot_stuffer.hpp"
#include "core/proto/reply.hpp"
#include "core/proto/smtp_client_reply.hpp"
#include "core/client/next_hop.hpp"

namespace asmtpd::io {
class TlsTransport;
}

namespace asmtpd::client {

// One message as the next hop gets it.
struct Envelope {
    std::string id;                        // our transaction id, for logs
    std::string sender;                    // "<a@b.example>" or "<>"
    std::vector<std::string> recipients;   // "<c@d.example>" each; at least one
    bool body_8bit = false;                // the client declared BODY=8BITMIME
    bool smtputf8 = false;                 // the client declared SMTPUTF8
    // DSN (RFC 3461), in normal form with a leading space (proto::format_dsn_mail/_rcpt):
    // " RET=HDRS ENVID=x" and, per recipient (same order, or empty), " NOTIFY=... ORCPT=...".
    // Sent only to a next hop whose EHLO/LHLO offers DSN; dropped otherwise (logged).
    std::string dsn_mail;
    std::vector<std::string> dsn_rcpts;
    std::string header_prefix;             // Received + plugin headers (+ edited header block), CRLF-terminated
    std::shared_ptr<io::Spool> body;       // finished spool (may be null: empty body)
    std::uint64_t body_offset = 0;         // the body is sent from here (an edited header block skips the original)

    std::uint64_t body_size() const { return body && body->size() > body_offset ? body->size() - body_offset : 0; }
    std::uint64_t size() const { return header_prefix.size() + body_size(); }
};

// The step at which a delivery ended.
enum class Stage { Connect, Greeting, Hello, Mail, Rcpt, Data, Body, DataEnd, Done };
std::string_view to_string(Stage s);

// Why a delivery failed locally, for the client-facing reason (details go to the log only:
// they name internal addresses).
// Loop: the next hop greeted us (or answered EHLO) with our own host name: the mail would come
// back to us (RFC 5321 §5.1, last paragraphs; Postfix "mail for ... loops back to myself").
// Tls: STARTTLS required but not offered or refused, or the handshake (certificate
// verification included) failed. Auth: AUTH could not be done (no usable mechanism, no TLS
// for it) or the next hop refused our credentials.
enum class Failure { None, Connect, Timeout, Closed, Protocol, Local, Loop, Tls, Auth };
std::string_view to_string(Failure f);

// The first word of a greeting or an EHLO/HELO reply (the next hop's name, one final dot
// ignored) equals host, ASCII case-insensitively: the loop check behind Failure::Loop.
bool reply_names_host(const proto::Reply& r, std::string_view host);

struct DeliveryReport {
    Stage stage = Stage::Connect;
    Failure failure = Failure::None;   // set with error
    // A local failure (timeout, refused or lost connection, malformed reply, spool error,
    // session gone); empty when the next hop answered every command.
    std::string error;
    // The next hop's reply that stopped the transaction (greeting, EHLO, MAIL, the first
    // refused RCPT, DATA, or an unexpected reply), if one did.
    std::optional<proto::Reply> refusal;
    std::vector<proto::Reply> rcpt_replies;    // in envelope order, as far as they came
    std::vector<proto::Reply> final_replies;   // SMTP: one; LMTP: one per recipient
    bool dot_sent = false;                     // a failure after this may leave a duplicate
    // Set-up only: the TLS handshake failed at the may level (ClientSecurity::plaintext_fallback):
    // the owner may retry once over a new connection that does not try TLS.
    bool retry_plaintext = false;

    // Every promised reply arrived (the final ones may still be refusals).
    bool complete() const { return stage == Stage::Done && error.empty(); }
};

// One message waiting for or running on a connection. The pool owns it and calls done.
struct DeliveryJob {
    Envelope envelope;
    io::Log log;                           // the session's log
    std::function<bool()> wanted;          // false once nobody waits for the answer
    std::function<void(DeliveryReport)> done;
};

class ClientConnection;

class ConnectionOwner {
public:
    enum class After { Reuse, Close, Retry };   // Retry: the job never started; run it elsewhere
    virtual ~ConnectionOwner() = default;
    virtual void connection_ready(ClientConnection& c) = 0;
    virtual void connection_failed(ClientConnection& c, DeliveryReport why) = 0;   // setup failed
    virtual void connection_lost(ClientConnection& c) = 0;                        // idle one closed
    virtual void job_finished(ClientConnection& c, DeliveryReport report, After after) = 0;
};

class ClientConnection final : public io::StreamListener, public std::enable_shared_from_this<ClientConnection> {
public:
    // plaintext_retry: the retry after a failed may-level handshake: no STARTTLS on this one.
    ClientConnection(uv_loop_t* loop, const ClientConfig& config, std::string helo_name, ConnectionOwner& owner,
                     io::Log log, std::uint64_t id, bool plaintext_retry = false);
    ~ClientConnection() override;
    ClientConnection(const ClientConnection&) = delete;
    ClientConnection& operator=(const ClientConnection&) = delete;

    void open();                                    // -> connection_ready / connection_failed
    void run(std::shared_ptr<DeliveryJob> job);     // only when idle -> job_finished
    void abandon(std::string why);                  // fails the running job now, closing
    void quit();                                    // QUIT, flush, close; no more callbacks
    void close();                                   // at once; no more callbacks

    bool idle() const { return phase_ == Phase::Idle; }
    bool has_job() const { return job_ != nullptr; }
    std::uint64_t id() const { return id_; }
    std::uint64_t messages() const { return messages_; }
    bool plaintext_retry() const { return plaintext_retry_; }

    // StreamListener
    void on_read(std::string_view bytes) override;
    void on_eof() override;
    void on_drained() override;

private:
    enum class Phase { New, Connecting, Setup, Idle, Busy, Body, Closed };
    enum class Wait { Greeting, Ehlo, Helo, Rset, Mail, Rcpt, Data, Final, StartTls, Handshake, Auth };

    void on_connected(std::unique_ptr<io::Transport> t, std::string error);
    // shown: what the debug log shows instead of the line (AUTH carries the password).
    void send(std::string line, Wait w, std::string_view shown = {});
    void arm_timer();
    void on_timeout();
    void on_reply(proto::Reply r);
    void on_setup_reply(Wait w, proto::Reply r);
    void on_job_reply(Wait w, proto::Reply r);
    // STARTTLS and AUTH after EHLO/HELO (smtp_client_secure.cpp), then ready().
    void read_offer(const proto::Reply& ehlo);   // the keywords below, from an EHLO/LHLO reply
    void after_hello();
    void on_secure_reply(Wait w, proto::Reply r);
    void on_handshake(bool ok, std::string error);
    void handshake_failed(std::string error);    // fail(Tls), marked for the plaintext retry at the may level
    void start_auth();
    void ready();
    void start_transaction();
    std::string rcpt_line(std::size_t i) const;   // "RCPT TO:<x>" (+ DSN parameters when offered)
    void after_recipients();
    void start_body();
    void pump();
    void end_body();
    void enter_idle();
    void finish_job(ConnectionOwner::After after);
    void fail(Failure kind, std::string error);    // local failure: report and close
    void refuse(Stage s, proto::Reply r);          // next hop said no: report, connection stays
    void drop_transport();

    uv_loop_t* loop_;
    const ClientConfig& config_;
    std::string helo_name_;
    ConnectionOwner& owner_;
    io::Log log_;
    std::uint64_t id_;
    bool plaintext_retry_;             // never STARTTLS (the may level's retry)
    bool retry_plaintext_ = false;     // the handshake failed: the report asks for the retry

    Phase phase_ = Phase::New;
    std::unique_ptr<io::Connecting> connecting_;
    std::unique_ptr<io::Transport> transport_;
    io::Timer timer_;
    proto::ClientReplyParser parser_;
    std::deque<Wait> waits_;           // replies expected, in order
    bool closing_by_peer_ = false;     // a 421 came: the next hop is closing this connection
    bool probing_ = false;             // the RSET of a reused connection is out: failure means retry

    // What EHLO offered (the last EHLO: after STARTTLS it is asked again).
    bool pipelining_ = false, size_ = false, eightbit_ = false, smtputf8_ = false, starttls_ = false, dsn_ = false;
    std::string auth_offer_;           // the AUTH line's mechanisms, upper case, space-separated
    io::TlsTransport* tls_ = nullptr;  // transport_ once STARTTLS switched it (owned there)
    bool authenticated_ = false;
    int auth_step_ = 0;                // AUTH LOGIN: 1 user sent, 2 password sent

    std::shared_ptr<DeliveryJob> job_;
    DeliveryReport report_;
    Stage stage_ = Stage::Connect;
    std::optional<proto::Reply> mail_refusal_;
    std::size_t next_rcpt_ = 0;        // without PIPELINING: the next RCPT to send
    std::uint64_t messages_ = 0;       // transactions started on this connection

    // Body streaming.
    proto::DotStuffer stuffer_;
    std::uint64_t body_off_ = 0;
    bool reading_ = false;             // a spool read is in flight
    bool in_pump_ = false;
    std::optional<std::string> chunk_; // a spool read that completed while pumping
    bool body_read_failed_ = false;
};

}  // namespace asmtpd::client

// session.hpp - one SMTP connection: input framing, command dispatch, hook chains, replies.
//
// Rules:
// - Every byte to the client goes through reply() (framing, enhanced codes, error counting,
//   pipelined-reply batching: output is flushed when the input runs dry, RFC 2920).
// - One command is in flight at a time: while a chain runs, later input waits in in_ (capped;
//   reading pauses past the cap) and is never read as commands before the reply is decided.
// - A session is destroyed only by its owner, after finished() was reported and never from
//   inside one of its own callbacks; async work holds lifetime() or the chain token, never a
//   raw pointer. Required hooks (reset_transaction, disconnect, post_connection) run on every
//   way out, including a vanished client.
// The command handlers live in cmd_*.cpp, the plugin view in hook_context.cpp.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/io/child_process.hpp"
#include "core/io/cpu_thread.hpp"
#include "core/io/free_space.hpp"
#include "core/io/log.hpp"
#include "core/io/reactor.hpp"
#include "core/io/stream.hpp"
#include "core/io/tls.hpp"
#include "core/io/timer.hpp"
#include "core/proto/command.hpp"
#include "core/proto/connection_info.hpp"
#include "core/proto/data_decoder.hpp"
#include "core/proto/header_meter.hpp"
#include "core/proto/line_reader.hpp"
#include "core/proto/proxy_header.hpp"
#include "core/proto/reply.hpp"
#include "core/proto/sasl.hpp"
#include "core/smtp/client_name.hpp"
#include "core/smtp/metrics.hpp"
#include "core/smtp/reject_log.hpp"
#include "core/proto/xclient.hpp"
#include "core/proto/xforward.hpp"
#include "core/smtp/runtime.hpp"
#include "core/smtp/session_phase.hpp"
#include "hooks/chain.hpp"
#include "hooks/context.hpp"
#include "hooks/defaults.hpp"

namespace asmtpd::smtp {

class Session;

// What a session needs from whoever owns it (the server, or a test driver).
class SessionOwner {
public:
    virtual ~SessionOwner() = default;
    // The session is done; destroy it from a later loop iteration.
    virtual void session_finished(Session& s) = 0;
    // The loop's runner for external programs.
    virtual io::ChildRunner& children() = 0;
    // The loop's DNS resolver.
    virtual io::Resolver& resolver() = 0;
    // The loop's state store (asmtpd.yaml `state:`).
    virtual io::StateStore& state_store() = 0;
    // The loop's thread for CPU-bound OpenSSL work (DKIM).
    virtual io::CpuThread& cpu_thread() = 0;
    // A failed AUTH from ip; true when ip is over its failure budget (the session then closes).
    virtual bool auth_failed(const std::string& /*ip*/) { return false; }
    // A PROXY header changed the session's client address (per-IP accounting); true when the
    // real client is over its connection limit (the session then refuses it).
    virtual bool peer_changed(Session& /*s*/, const std::string& /*old_ip*/) { return false; }
    // The loop's view of free disk space (limits.min_free_space); null: not checked.
    virtual io::FreeSpaceMonitor* free_space() { return nullptr; }
    // Where this loop counts (asmtpd.yaml metrics:); null: nothing is counted.
    virtual WorkerMetrics* metrics() { return nullptr; }
};

// How the listener that accepted the connection is configured.
struct SessionOptions {
    ListenMode mode = ListenMode::Smtp;   // submission: AUTH before MAIL; smtps: TLS first
    bool proxy_protocol = false;          // a PROXY header comes first (trusted peers only)
};

class Session final : public io::StreamListener, public hooks::Context {
public:
    Session(uv_loop_t* loop, SessionOwner& owner, std::unique_ptr<io::Transport> transport,
            proto::ConnectionInfo info, std::shared_ptr<const Runtime> runtime, const io::Logger& logger,
            SessionOptions options = {});
    ~Session() override;
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    // Runs pre_connection and connect, then greets. `refusal`, when set, is sent instead
    // (server-level limits) and the session closes.
    void start(std::optional<proto::Reply> refusal = std::nullopt);
    // Server shutdown deadline: 421 and close, whatever the session is doing.
    void shutdown(const proto::Reply& reply);

    std::uint64_t id() const { return info_.id; }
    Phase phase() const { return phase_; }
    const proto::ConnectionInfo& info() const { return info_; }
    // The address this connection is counted under: the peer's, never an XFORWARD one.
    const std::string& peer_ip() const { return xforward_ ? xforward_->remote_ip : info_.remote_ip; }

    // io::StreamListener
    void on_read(std::string_view bytes) override;
    void on_eof() override;
    void on_drained() override;

    // hooks::Context (hook_context.cpp)
    proto::ConnectionInfo& connection() override { return info_; }
    hooks::Transaction* transaction() override { return txn_ ? &*txn_ : nullptr; }
    hooks::Notes& notes() override { return notes_; }
    const hooks::FlatConfig& config() const override { return *runtime_->config; }
    const hooks::ServerFacts& server() const override { return runtime_->facts; }
    const io::Reactor& reactor() const override { return reactor_; }
    const io::Log& log() const override { return log_; }
    std::size_t unread_input() const override { return in_.size() - in_pos_; }
    void after(std::uint64_t ms, std::function<void()> fn) override;
    std::weak_ptr<const void> lifetime() const override { return alive_; }
    io::ChildRunner& children() override { return owner_.children(); }
    io::DnsScope& dns() override { return dns_; }
    io::StateScope& state() override { return state_; }
    void run_on_cpu_thread(std::function<void()> work, std::function<void()> after) override;
    void post_to_cpu_thread(std::function<void()> work) override;
    void count(std::string_view plugin, std::string_view event, std::uint64_t n) override {
        if (metrics_) metrics_->plugin_event(plugin, event, n);
    }
    void prefix_reply(std::string line) override;

private:
    // session.cpp: the machine
    void enter(Phase p);
    void process_input();
    void dispatch_line(std::string_view line);
    void reply(const proto::Reply& r);
    void reply(int code, std::string_view esc, std::string_view text);
    void flush();
    void close_session(std::string_view why);      // required hooks, then drain and finish
    void after_chain();                             // a chain finished: resume input
    void run_chain(hooks::Hook h, hooks::HookArgs args,
                   std::function<void(const hooks::Verdict&, const hooks::Disposition&)> then);
    // The line a chain's verdict gets; a refusal carries client_ip, helo, sender, recipient.
    void log_verdict(hooks::Hook h, const hooks::Verdict& v, const hooks::Disposition& d, const hooks::Plugin* by,
                     const RejectSubject& subject);
    // Sends a Respond* disposition; true when the caller should stop (reply sent or closing).
    bool handle_refusal(const hooks::Disposition& d);
    // A refusal that ends the transaction (mail, data, data_post, queue ...): both, in that order.
    void refuse_transaction(const hooks::Disposition& d);
    void arm_timeout();
    void update_reading();
    void greet();
    void finish_now();
    bool busy() const { return chain_->busy() || waiting_for_ != Wait::Nothing; }
    void begin_dialogue();                          // pre_connection, connect, greeting
    void consume_proxy_header();
    bool apply_proxy_header(const proto::ProxyHeader& h);   // false: the session was closed
    void start_tls(bool implicit);
    void tls_ready(bool ok, const std::string& error, bool implicit);
    bool auth_offered() const;
    std::string auth_mechanisms() const;

    // session_dns.cpp: the client's reverse name (started at connect, awaited only where needed)
    void start_client_name();
    void with_client_name(std::function<void()> fn);

    // cmd_hello.cpp
    void cmd_helo(const proto::Command& c, bool extended);
    // cmd_envelope.cpp
    void cmd_mail(const proto::Command& c);
    void mail_after_pre(proto::PathArgs args);
    void cmd_rcpt(const proto::Command& c);
    void rcpt_after_pre(proto::PathArgs args);
    static void rewrite_path(const hooks::Verdict& v, proto::PathArgs& p);
    void cmd_rset(const proto::Command& c);
    // cause "RSET": the client asked; reset_transaction then runs even with no transaction open
    // (qmail-spp clears its buffers on every RSET).
    void reset_transaction(std::string_view cause = {});
    // cmd_data.cpp
    void cmd_data(const proto::Command& c);
    bool data_sync_violated();                      // input behind DATA: 554 and close
    void refuse_data(const proto::Reply& r);
    // The data hook's 354 (DATA), or chunked: the first BDAT's content setup, no reply.
    void begin_data(const proto::Reply& go_ahead, bool chunked = false);
    void check_data_pace();                         // timeouts.data_total, limits.data_min_rate
    void consume_data();
    void store_content();                           // data_chunk_ -> spool, observers, header meter
    void end_of_data();
    void run_headers_end();                         // data_headers_end, while the client streams
    void run_data_post_headers();
    void run_received_line();
    void run_data_post();
    void run_queue();
    // header_edits.cpp
    void run_header_edits();                        // then run_queue
    void read_header_block(std::string block);
    void edit_header_block(std::string block);
    void finish_transaction(const proto::Reply& r);
    // cmd_bdat.cpp
    void cmd_bdat(const proto::Command& c);
    void consume_bdat();                            // the current BDAT's octets, then its reply
    // cmd_xclient.cpp
    bool xclient_allowed();
    bool proxy_command_allowed();   // replies 550/503 and returns false when XCLIENT/XFORWARD may not run
    void cmd_xclient(const proto::Command& c);
    void apply_xclient(const std::vector<proto::XclientAttr>& attrs);
    // cmd_xforward.cpp
    void cmd_xforward(const proto::Command& c);
    void apply_xforward(const std::vector<proto::XforwardAttr>& attrs);
    void end_xforward();                            // the connection's own client attributes again
    // cmd_misc.cpp
    void cmd_quit(const proto::Command& c);
    void cmd_noop(const proto::Command& c);
    void cmd_vrfy(const proto::Command& c);
    void cmd_help(const proto::Command& c);
    void cmd_unrecognized(const proto::Command& c);
    void cmd_not_implemented(const proto::Command& c);
    // cmd_starttls.cpp
    void cmd_starttls(const proto::Command& c);
    // cmd_auth.cpp
    void cmd_auth(const proto::Command& c);
    void auth_line(std::string_view line);
    void auth_stop();                               // end the exchange, command line limit again
    void auth_plain(std::string_view decoded);
    void auth_login_user(std::string_view decoded);
    void auth_decide(proto::SaslMechanism mech, std::string user, std::string secret, std::string ticket);

    friend struct CommandTable;

    uv_loop_t* loop_;
    io::Reactor reactor_;
    SessionOwner& owner_;
    WorkerMetrics* metrics_;         // owner_.metrics(): null when nothing is counted
    std::unique_ptr<io::Transport> transport_;
    proto::ConnectionInfo info_;
    std::shared_ptr<const Runtime> runtime_;   // the configuration this session started with
    io::Log log_;
    std::shared_ptr<hooks::ChainRunner> chain_;
    std::shared_ptr<int> alive_ = std::make_shared<int>(0);

    Phase phase_ = Phase::Greeting;
    hooks::Notes notes_;
    std::optional<hooks::Transaction> txn_;
    std::uint64_t txn_count_ = 0;
    std::size_t errors_ = 0;

    std::string in_;                 // unprocessed client input starts at in_pos_
    std::size_t in_pos_ = 0;
    proto::LineReader lines_;
    std::optional<proto::DataDecoder> data_;
    proto::BareLfPolicy data_policy_ = proto::BareLfPolicy::Reject;   // of the current DATA
    std::string data_chunk_;         // decoder output waiting to go to the spool
    std::optional<proto::HeaderMeter> headers_;   // the current DATA's header block
    bool headers_end_ran_ = false;                 // data_headers_end ran for this DATA
    bool data_end_waits_ = false;                  // the final dot came while it was running
    std::optional<proto::Reply> headers_end_refusal_;   // its DENY/DENYSOFT, sent at the dot
    struct Bdat {
        std::uint64_t size = 0;        // this chunk's octets, as the command said
        std::uint64_t remaining = 0;   // still to read
        bool last = false;
        bool pending = false;          // its octets are being read (nothing else is)
        std::optional<hooks::Disposition> refusal;   // the answer once they are read
    };
    Bdat bdat_;
    bool bdat_open_ = false;           // a BDAT transaction: its content goes through data_
    std::uint64_t data_started_ms_ = 0;   // uv_now at 354
    std::uint64_t data_paused_ms_ = 0;    // time reading was paused by us (spool back-pressure)
    std::uint64_t paused_since_ms_ = 0;
    std::string out_;                // replies not yet written (pipelining batch)
    bool processing_ = false;        // inside process_input (re-entry guard)
    bool reprocess_ = false;
    bool reading_paused_ = false;
    bool eof_ = false;               // client closed its side
    // Like a running chain, each of these holds input back until it is over.
    enum class Wait { Nothing, Spool, ClientName, TlsHandshake, HeaderBlock };
    Wait waiting_for_ = Wait::Nothing;
    std::uint64_t commands_ = 0;     // command lines dispatched
    SessionOptions options_;
    bool proxy_pending_ = false;     // waiting for the PROXY header (nothing else is read)
    io::TlsTransport* tls_ = nullptr;   // transport_ when TLS is on (for its facts)
    struct AuthExchange {
        proto::SaslMechanism mech;
        int step = 0;                // LOGIN: 0 = waiting for the user, 1 = for the password
        std::string user;
        std::string challenge;       // CRAM-MD5
    };
    std::optional<AuthExchange> auth_;   // an AUTH exchange waits for the client's next line
    std::vector<std::string> reply_prefix_;    // prefix_reply() lines for the next reply
    bool finished_reported_ = false;

    io::Timer timeout_;
    io::Timer drain_timer_;
    io::Timer data_deadline_;        // whole-DATA deadline and minimum rate (timeout_ is per read)
    io::Timer handshake_timer_;      // TLS handshake deadline (timeout_ is stopped while busy)
    std::list<std::unique_ptr<io::Timer>> plugin_timers_;
    // FCrDNS of the client, started with the dialogue. XCLIENT starts another for the new
    // client; the old one is kept (late DNS answers still reach a live object) and ignored.
    std::unique_ptr<ClientName> client_name_ = std::make_unique<ClientName>();
    std::vector<std::unique_ptr<ClientName>> old_client_names_;
    std::optional<bool> xclient_peer_;   // may this peer use XCLIENT/XFORWARD (trusted_proxies)
    // While XFORWARD attributes apply (until the transaction ends): what they replaced.
    struct Forwarded {
        std::string remote_ip;
        std::uint16_t remote_port = 0;
        std::string remote_host, helo_host;
        std::vector<std::pair<std::string, std::string>> notes;   // remote_host, rdns, ... as they were
        bool name_given = false;                                  // an XFORWARD NAME came
        std::string proto;                                        // XFORWARD PROTO: the Received "with"
    };
    std::optional<Forwarded> xforward_;
    io::DnsScope dns_;               // plugins' lookups: dropped with the session (after client_name_)
    io::StateScope state_;           // plugins' state batches: callbacks dropped with the session
};

}  // namespace asmtpd::smtp

// server.cpp - accepting connections into sessions, limits, reload and graceful stop.
#include "core/smtp/server.hpp"

#include "core/io/service_notify.hpp"

#include <csignal>
#include <ctime>
#include <utility>

#include <unistd.h>

#include <fmt/format.h>

namespace asmtpd::smtp {

namespace {
io::ResolverOptions resolver_options(const DnsSettings& d) {
    io::ResolverOptions o;
    o.servers = d.servers;
    o.timeout_ms = d.timeout * 1000;
    o.attempts = static_cast<int>(d.attempts);
    o.cache_entries = d.cache_entries;
    o.max_in_flight = d.max_in_flight;
    return o;
}

io::StateOptions state_options(const Settings& s) {
    io::StateOptions o;
    o.backend = s.state.backend == StateSettings::Backend::Redis ? io::StateOptions::Backend::Redis
                                                                 : io::StateOptions::Backend::Embedded;
    o.path = s.state.path.empty() ? s.spool_dir + "/state.mdb" : s.state.path;
    o.map_size = s.state.map_size << 20;
    o.host = s.state.host;
    o.port = s.state.port;
    o.prefix = s.state.prefix;
    o.timeout_ms = s.state.timeout * 1000ull;
    return o;
}
}  // namespace

Server::Server(uv_loop_t* loop, io::Logger& logger, std::string config_dir, std::shared_ptr<const Runtime> runtime,
               std::span<const hooks::CatalogEntry> catalog, std::vector<int> listen_fds, unsigned worker)
    : loop_(loop),
      logger_(logger),
      log_(&logger, 0, "server"),
      config_dir_(std::move(config_dir)),
      runtime_(std::move(runtime)),
      catalog_(catalog),
      listen_fds_(std::move(listen_fds)),
      worker_(worker),
      session_ids_(static_cast<std::uint64_t>(std::time(nullptr)), worker),
      children_(loop, runtime_->settings.limits.max_children),
      resolver_(io::Resolver::create(loop, resolver_options(runtime_->settings.dns), resolver_error_)),
      state_(io::make_state_store(loop, state_options(runtime_->settings))),
      free_space_(loop),
      cpu_(loop),
      reaper_(loop),
      shutdown_timer_(loop),
      sigterm_(loop),
      sigint_(loop),
      sighup_(loop),
      metrics_timer_(loop) {}

Server::~Server() {
    if (metrics_fd_ >= 0) ::close(metrics_fd_);
    if (control_fd_ >= 0) ::close(control_fd_);
    metrics_server_.reset();
    control_server_.reset();
    for (auto& l : listeners_) l->close();
    for (int fd : listen_fds_)
        if (fd >= 0) ::close(fd);
    sessions_.clear();
    retired_.clear();
    close_resolver();
    close_state();
}

void Server::close_state() {
    if (!state_) return;
    const auto& st = state_->stats();
    if (st.batches)
        log_.info("state ({}): {} batches, {} ops, {} round trips, {} unavailable, {} past their deadline",
                  state_->backend(), st.batches, st.ops, st.round_trips, st.failures, st.timeouts);
    state_.reset();
}

void Server::count_into(std::shared_ptr<MetricsRegistry> registry) {
    metrics_registry_ = registry;
    metrics_ = registry ? std::make_unique<WorkerMetrics>(std::move(registry), worker_) : nullptr;
}

void Server::publish_metrics() {
    if (metrics_ && resolver_) metrics_->publish(resolver_->stats(), children_.started());
}

void Server::metrics_tick() {
    publish_metrics();
    metrics_timer_.start(1000, [this] { metrics_tick(); });
    metrics_timer_.unref();
}

void Server::close_resolver() {
    if (!resolver_) return;
    publish_metrics();
    const auto& st = resolver_->stats();
    log_.info("dns: {} lookups, {} from the cache, {} joined a question in flight, {} sent, {} past their deadline",
              st.lookups, st.cache_hits, st.coalesced, st.sent, st.deadlines);
    resolver_.reset();
}

bool Server::start(std::string& error) {
    const auto& s = runtime_->settings;
    if (!resolver_) {
        error = config_dir_ + "/asmtpd.yaml: dns: " + resolver_error_;
        return false;
    }
    for (std::size_t i = 0; i < s.listen.size(); ++i) {
        const ListenSpec& spec = s.listen[i];
        if (spec.mode == ListenMode::Smtps && !runtime_->tls) {
            error = fmt::format("{}/asmtpd.yaml: listen[{}]: mode smtps needs tls.cert and tls.key", config_dir_, i);
            return false;
        }
        std::string err;
        const int fd = i < listen_fds_.size() ? std::exchange(listen_fds_[i], -1) : -1;
        if (fd < 0) {
            error = fmt::format("listen[{}]: no socket was bound for {}:{}", i, spec.address, spec.port);
            return false;
        }
        auto l = io::Listener::adopt(loop_, fd, [this, spec](std::unique_ptr<io::TcpStream> st) { on_connection(std::move(st), spec); }, err);
        if (!l) {
            error = fmt::format("listen {}:{}: {}", spec.address, spec.port, err);
            return false;
        }
        l->set_overload_reply(
            proto::Reply::make(421, "4.3.2", runtime_->facts.hostname + " Error: too many open files; try again later").wire(true));
        log_.notice("listening on {}:{}", spec.address, l->port());
        listeners_.push_back(std::move(l));
    }
    if (metrics_) {
        metrics_->configuration_loaded(*runtime_->registry);
        metrics_tick();
    }
    if (metrics_fd_ >= 0 && metrics_registry_) {
        std::string err;
        auto registry = metrics_registry_;
        metrics_server_ = MetricsServer::adopt(loop_, std::exchange(metrics_fd_, -1), [registry] { return registry->render(); },
                                               log_.with_tag("metrics"), err);
        if (!metrics_server_) {
            error = "metrics: " + err;
            return false;
        }
        log_.notice("metrics on {}:{}/metrics", s.metrics.address, metrics_server_->port());
    }
    if (control_fd_ >= 0 && metrics_registry_) {
        std::string err;
        control_server_ = ControlServer::adopt(loop_, std::exchange(control_fd_, -1),
                                               [this](proto::ControlVerb v, ControlServer::Answer a) { control(v, std::move(a)); },
                                               log_.with_tag("control"), err);
        if (!control_server_) {
            error = "control: " + err;
            return false;
        }
    }
    sigterm_.start(SIGTERM, [this](int) { stop(); });
    sigint_.start(SIGINT, [this](int) { stop(); });
    sighup_.start(SIGHUP, [this](int) { reload(); });
    return true;
}

void Server::on_connection(std::unique_ptr<io::TcpStream> stream, const ListenSpec& spec) {
    const auto& rt = *runtime_;
    proto::ConnectionInfo info;
    info.id = session_ids_.next(static_cast<std::uint64_t>(std::time(nullptr)));
    info.remote_ip = stream->peer_ip();
    info.remote_port = stream->peer_port();
    info.local_ip = stream->local_ip();
    info.local_port = stream->local_port();
    if (!connections_) {
        std::string error;
        connections_ = ConnectionTable::create(worker_ + 1, error);
        if (!connections_) log_.error("{}", error);
    }
    const ConnectionTable::Counts counted =
        connections_ ? connections_->add(worker_, info.remote_ip) : ConnectionTable::Counts{sessions_.size() + 1, 1, false};
    info.connections_from_ip = counted.from_ip;

    // The per-client environment (tcp.env), as tcpserver applied tcprules before qmail-smtpd.
    bool denied_by_map = false;
    // Behind a PROXY listener the peer is the proxy: client limits and tcp.env apply once the
    // header has named the real client (Session::consume_proxy_header).
    if (rt.client_env && !spec.proxy_protocol) {
        auto m = rt.client_env->lookup(info.remote_ip, info.remote_host);
        info.env = std::move(m.vars);
        if (info.env.count("RELAYCLIENT")) info.relay_client = true;   // qmail: RELAYCLIENT means relay
        denied_by_map = !m.allowed;
        if (m.rule) log_.debug("{}: tcp.env rule {} ({})", info.remote_ip, m.rule->where, m.allowed ? "allow" : "deny");
    }

    std::optional<proto::Reply> refusal;
    std::optional<Refusal> why;
    const auto& lim = rt.settings.limits;
    if (stopping_) {
        refusal = proto::Reply::make(421, "4.3.2", rt.facts.hostname + " Service shutting down");
        why = Refusal::ShuttingDown;
    } else if (lim.max_connections > 0 && counted.total > lim.max_connections) {
        refusal = proto::Reply::make(421, "4.7.0", rt.facts.hostname + " Error: too many connections");
        why = Refusal::MaxConnections;
    } else if (!spec.proxy_protocol && lim.max_connections_per_ip > 0 && counted.from_ip > lim.max_connections_per_ip) {
        refusal = proto::Reply::make(421, "4.7.0", rt.facts.hostname + " Error: too many connections from your IP");
        why = Refusal::MaxConnectionsPerIp;
    } else if (denied_by_map) {
        refusal = proto::Reply::make(554, "5.7.1", rt.facts.hostname + " Error: connections from your address are not accepted");
        why = Refusal::Access;
    }
    if (metrics_) {
        if (why) metrics_->connection_refused(*why);
        else metrics_->connection_accepted();
    }
    SessionOptions opts;
    opts.mode = spec.mode;
    opts.proxy_protocol = spec.proxy_protocol;
    auto session = std::make_unique<Session>(loop_, *this, std::move(stream), std::move(info), runtime_, logger_, opts);
    Session* raw = session.get();
    sessions_.emplace(raw->id(), std::move(session));
    raw->start(std::move(refusal));
}

void Server::session_finished(Session& s) {
    auto it = sessions_.find(s.id());
    if (it == sessions_.end()) return;
    if (connections_) connections_->remove(worker_, s.info().remote_ip);
    publish_metrics();
    retired_.push_back(std::move(it->second));
    sessions_.erase(it);
    // Destroy from a fresh loop iteration: we are inside one of the session's callbacks.
    reaper_.start(0, [this] {
        retired_.clear();
        maybe_exit();
    });
}

bool Server::auth_failed(const std::string& ip) {
    const std::size_t limit = runtime_->settings.limits.auth_failures_per_ip;
    if (limit == 0) return false;
    const std::uint64_t now = uv_now(loop_);
    auto& times = auth_failures_[ip];
    std::erase_if(times, [now](std::uint64_t t) { return now - t > 60000; });
    times.push_back(now);
    if (auth_failures_.size() > 100000) {
        // Bounded memory under a spray of addresses: forget IPs without recent failures.
        std::erase_if(auth_failures_, [now](const auto& kv) { return kv.second.empty() || now - kv.second.back() > 60000; });
    }
    return times.size() >= limit;
}

bool Server::peer_changed(Session& s, const std::string& old_ip) {
    if (!connections_) return false;
    connections_->remove(worker_, old_ip);
    const auto counted = connections_->add(worker_, s.info().remote_ip);
    s.connection().connections_from_ip = counted.from_ip;
    const auto max = runtime_->settings.limits.max_connections_per_ip;
    return max > 0 && counted.from_ip > max;
}

void Server::reload() {
    if (notify_service_) io::service::reloading();
    reload_runtime();
    if (notify_service_) io::service::ready(service_status());
}

std::string Server::service_status() const {
    return fmt::format("accepting mail ({} plugins)", runtime_->registry->plugin_count());
}

bool Server::reload_runtime(std::string* why) {
    std::vector<std::string> errors;
    // The key file may be root's alone, and we no longer are: a reload that cannot read it again
    // keeps the one already loaded (load_runtime warns).
    PreloadedTls running_tls{runtime_->settings.tls, runtime_->tls, "", true};
    auto rt = load_runtime(config_dir_, catalog_, errors, false, &running_tls);
    if (!rt) {
        for (const auto& e : errors) log_.error("reload: {}", e);
        log_.error("reload failed; keeping the running configuration");
        std::string text;
        for (const auto& e : errors) text += e + "\n";
        if (metrics_) metrics_->reload_failed(text);
        if (why) *why = std::move(text);
        return false;
    }
    if (rt->settings.listen.size() != runtime_->settings.listen.size())
        log_.warn("reload: listen addresses change only on restart");
    if (!(rt->settings.dns == runtime_->settings.dns)) log_.warn("reload: dns settings change only on restart");
    if (!(rt->settings.state == runtime_->settings.state)) log_.warn("reload: state settings change only on restart");
    if (!(rt->settings.run_as == runtime_->settings.run_as)) log_.warn("reload: user and group change only on restart");
    for (const auto& w : rt->warnings) log_.warn("reload: {}", w);
    // The log: section applies now (target, format ...); an unchanged one only sets the level.
    if (const auto wanted = rt->settings.log_config(); !(wanted == logger_.config())) logger_.configure(wanted);
    children_.set_max_running(rt->settings.limits.max_children);
    if (!(rt->settings.metrics == runtime_->settings.metrics)) log_.warn("reload: metrics settings change only on restart");
    if (!(rt->settings.control == runtime_->settings.control)) log_.warn("reload: control settings change only on restart");
    runtime_ = std::move(rt);
    if (metrics_) metrics_->configuration_loaded(*runtime_->registry);
    ++generation_;
    log_.notice("configuration reloaded ({} plugins)", runtime_->registry->plugin_count());
    return true;
}

void Server::stop() {
    if (stopping_) return;
    stopping_ = true;
    if (notify_service_) io::service::stopping(fmt::format("draining {} sessions", sessions_.size()));
    for (auto& l : listeners_) l->close();
    log_.notice("stopping: {} sessions get {} s to finish", sessions_.size(), runtime_->settings.timeouts.shutdown);
    shutdown_timer_.start(runtime_->settings.timeouts.shutdown * 1000ull, [this] {
        std::vector<Session*> open;
        for (auto& [id, s] : sessions_) open.push_back(s.get());
        auto r = proto::Reply::make(421, "4.3.2", runtime_->facts.hostname + " Service shutting down");
        for (Session* s : open) s->shutdown(r);
        maybe_exit();
    });
    maybe_exit();
}

void Server::maybe_exit() {
    if (!stopping_ || !sessions_.empty() || !retired_.empty()) return;
    shutdown_timer_.stop();
    sigterm_.stop();
    sigint_.stop();
    sighup_.stop();
    // A question still out to a DNS server that never answers would keep the loop (and the
    // exit) waiting for c-ares to give up on it, up to timeout x attempts; nobody waits for
    // it any more.
    close_resolver();
    close_state();   // a Redis connection would keep the loop alive
    metrics_timer_.stop();
    if (metrics_server_) metrics_server_->close();   // its listener would keep the loop alive
    if (control_server_) control_server_->close();
    log_.notice("all sessions done; exiting");
    // Sessions that were told 421 already have it in the kernel: waiting out their lingering
    // closes would only hold the exit up (by up to 2 s) for clients that keep their sockets.
    if (auto n = io::TcpStream::cut_lingering_closes()) log_.debug("closed {} lingering connections", n);
}

}  // namespace asmtpd::smtp

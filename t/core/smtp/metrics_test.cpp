// metrics_test.cpp - tests core/smtp/metrics.cpp and metrics_render.cpp: counts of several
// workers (one of them forked, as the daemon's are) summed, a dead worker's gauges dropped and
// its counters kept, the plugin names table and its "_other" slot, the histogram arithmetic,
// the outcome of each close_session reason, and the page itself.
#include "core/smtp/metrics.hpp"

#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using namespace asmtpd::smtp;

namespace {
std::shared_ptr<MetricsRegistry> make(unsigned workers) {
    std::string error;
    auto r = MetricsRegistry::create(workers, error);
    REQUIRE_MESSAGE(r, error);
    return r;
}
bool has_line(const std::string& page, const std::string& line) {
    return page.find("\n" + line + "\n") != std::string::npos;
}
}  // namespace

TEST_CASE("metrics: two workers' counts are summed, one of them in a forked process") {
    auto reg = make(2);
    WorkerMetrics w0(reg, 0);
    w0.connection_accepted();
    w0.reply(250);
    w0.reply(550);
    w0.bytes_received(100);
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        {
            WorkerMetrics w1(reg, 1);
            w1.connection_accepted();
            w1.connection_refused(Refusal::MaxConnectionsPerIp);
            w1.reply(221);
            w1.bytes_received(23);
            w1.queue_outcome(QueueOutcome::Queued);
        }   // a worker that ends cleanly says so in its block
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    REQUIRE(WIFEXITED(status));
    const auto s = reg->sum();
    CHECK(s->connections_accepted == 2);
    CHECK(s->connections_refused[static_cast<int>(Refusal::MaxConnectionsPerIp)] == 1);
    CHECK(s->replies[0] == 2);   // 2xx
    CHECK(s->replies[3] == 1);   // 5xx
    CHECK(s->bytes_received == 123);
    CHECK(s->queue[static_cast<int>(QueueOutcome::Queued)] == 1);
    CHECK(s->up == 1);           // the forked worker's block said "down" when it ended
}

TEST_CASE("metrics: a dead worker's gauges go to 0, its counters stay, its successor counts on") {
    auto reg = make(2);
    {
        WorkerMetrics w(reg, 1);
        w.session_opened();
        w.session_opened();
        w.session_closed(SessionOutcome::Quit);
        CHECK(reg->sum()->open_sessions == 1);
        CHECK(reg->sum()->up == 1);
        // the worker dies here without closing its other session
    }
    reg->worker_gone(1);
    CHECK(reg->sum()->open_sessions == 0);
    CHECK(reg->worker_exits() == 1);
    WorkerMetrics again(reg, 1);
    again.session_opened();
    again.session_closed(SessionOutcome::Timeout);
    const auto s = reg->sum();
    CHECK(s->sessions[static_cast<int>(SessionOutcome::Quit)] == 1);
    CHECK(s->sessions[static_cast<int>(SessionOutcome::Timeout)] == 1);
    CHECK(s->open_sessions == 0);
    CHECK(s->up == 1);
}

TEST_CASE("metrics: DNS and child counts are published as differences") {
    auto reg = make(1);
    WorkerMetrics w(reg, 0);
    io::ResolverStats st;
    st.lookups = 5;
    st.cache_hits = 2;
    w.publish(st, 3);
    st.lookups = 7;
    w.publish(st, 4);
    w.publish(st, 4);
    CHECK(reg->sum()->dns_lookups == 7);
    CHECK(reg->sum()->dns_cache_hits == 2);
    CHECK(reg->sum()->children_spawned == 4);
    // A restarted worker's own counters start from 0: the instance's keep growing.
    WorkerMetrics restarted(reg, 0);
    st = {};
    st.lookups = 1;
    restarted.publish(st, 1);
    CHECK(reg->sum()->dns_lookups == 8);
    CHECK(reg->sum()->children_spawned == 5);
}

TEST_CASE("metrics: plugin names keep their slots; past the table they are _other") {
    auto reg = make(1);
    CHECK(reg->plugin_slot("rcpt_ok") == 0);
    CHECK(reg->plugin_slot("queue/maildir") == 1);
    CHECK(reg->plugin_slot("rcpt_ok") == 0);
    for (unsigned i = 2; i < kMaxMetricPlugins; ++i) CHECK(reg->plugin_slot("p" + std::to_string(i)) == i);
    CHECK(reg->plugin_slot("one_too_many") == kMaxMetricPlugins);
    CHECK(reg->plugin_names().size() == kMaxMetricPlugins);
    CHECK(reg->plugin_names()[1] == "queue/maildir");
}

TEST_CASE("metrics: events plugins count (Context::count): by plugin and name, summed; past 16 names _other") {
    auto reg = make(2);
    WorkerMetrics w0(reg, 0), w1(reg, 1);
    w0.plugin_event("milter", "connection_opened", 1);
    w0.plugin_event("milter", "connection_reused", 3);
    w1.plugin_event("milter", "connection_reused", 2);
    w1.plugin_event("milter:2", "connection_opened", 1);
    CHECK(reg->event_names(reg->plugin_slot("milter")) == std::vector<std::string>{"connection_opened", "connection_reused"});
    for (unsigned i = 0; i < kMaxPluginEvents + 3; ++i) w0.plugin_event("noisy", "e" + std::to_string(i), 1);
    CHECK(reg->event_names(reg->plugin_slot("noisy")).size() == kMaxPluginEvents);
    const std::string page = reg->render();
    CHECK(has_line(page, "# TYPE asmtpd_plugin_events_total counter"));
    CHECK(has_line(page, "asmtpd_plugin_events_total{plugin=\"milter\",event=\"connection_opened\"} 1"));
    CHECK(has_line(page, "asmtpd_plugin_events_total{plugin=\"milter\",event=\"connection_reused\"} 5"));
    CHECK(has_line(page, "asmtpd_plugin_events_total{plugin=\"milter:2\",event=\"connection_opened\"} 1"));
    CHECK(has_line(page, "asmtpd_plugin_events_total{plugin=\"noisy\",event=\"e15\"} 1"));
    CHECK(has_line(page, "asmtpd_plugin_events_total{plugin=\"noisy\",event=\"_other\"} 3"));
}

TEST_CASE("metrics: latency lands in the first bucket whose bound is not below it") {
    LatencyHistogram h{};
    observe_latency(h, 400'000);          // 0.4 ms
    observe_latency(h, 500'000);          // 0.5 ms: on the bound
    observe_latency(h, 3'000'000);        // 3 ms
    observe_latency(h, 60'000'000'000);   // 60 s: +Inf only
    CHECK(h.buckets[0] == 2);
    CHECK(h.buckets[3] == 1);             // (2.5 ms, 5 ms]
    CHECK(h.count == 4);
    CHECK(h.sum_ns == 60'003'900'000);
}

TEST_CASE("metrics: close_session reasons map onto outcomes") {
    CHECK(session_outcome("quit") == SessionOutcome::Quit);
    CHECK(session_outcome("quit (plugin answered)") == SessionOutcome::Quit);
    CHECK(session_outcome("client closed connection") == SessionOutcome::ClientClosed);
    CHECK(session_outcome("command timeout") == SessionOutcome::Timeout);
    CHECK(session_outcome("data below minimum rate") == SessionOutcome::Timeout);
    CHECK(session_outcome("refused: 421 4.7.0 too many") == SessionOutcome::Refused);
    CHECK(session_outcome("denied: 554 go away") == SessionOutcome::Denied);
    CHECK(session_outcome("dropped by plugin") == SessionOutcome::Denied);
    CHECK(session_outcome("too many errors") == SessionOutcome::TooManyErrors);
    CHECK(session_outcome("server shutting down") == SessionOutcome::Shutdown);
    CHECK(session_outcome("TLS handshake failed") == SessionOutcome::Tls);
    CHECK(session_outcome("bad PROXY header: x") == SessionOutcome::ProtocolError);
    CHECK(session_outcome("input pipelined after DATA") == SessionOutcome::ProtocolError);
}

TEST_CASE("metrics: the page has every family once and the summed values") {
    auto reg = make(2);
    WorkerMetrics w0(reg, 0), w1(reg, 1);
    w0.session_closed(SessionOutcome::Quit);
    w1.session_closed(SessionOutcome::Quit);
    w1.hook_done(hooks::Hook::Rcpt, hooks::Result::Deny, 2'000'000);
    reg->plugin_slot("odd\"name");
    const std::string page = reg->render();
    CHECK(has_line(page, "asmtpd_workers 2"));
    CHECK(has_line(page, "asmtpd_workers_up 2"));
    CHECK(has_line(page, "asmtpd_sessions_total{outcome=\"quit\"} 2"));
    CHECK(has_line(page, "asmtpd_sessions_total{outcome=\"timeout\"} 0"));
    CHECK(has_line(page, "asmtpd_hook_verdicts_total{hook=\"rcpt\",verdict=\"deny\"} 1"));
    CHECK(has_line(page, "asmtpd_hook_duration_seconds_bucket{hook=\"rcpt\",le=\"0.0025\"} 1"));
    CHECK(has_line(page, "asmtpd_hook_duration_seconds_bucket{hook=\"rcpt\",le=\"0.001\"} 0"));
    CHECK(has_line(page, "asmtpd_hook_duration_seconds_count{hook=\"rcpt\"} 1"));
    CHECK(has_line(page, "asmtpd_hook_duration_seconds_sum{hook=\"rcpt\"} 0.002"));
    CHECK(page.find("hook=\"mail\"") == std::string::npos);   // hooks that never ran have no series
    CHECK(page.rfind("# HELP asmtpd_build_info ", 0) == 0);
    std::size_t types = 0;
    for (std::size_t at = page.find("# TYPE "); at != std::string::npos; at = page.find("# TYPE ", at + 1)) ++types;
    std::size_t helps = 0;
    for (std::size_t at = page.find("# HELP "); at != std::string::npos; at = page.find("# HELP ", at + 1)) ++helps;
    CHECK(types == helps);
    CHECK(types == 25);
}

namespace {
class Decliner : public hooks::Plugin {
public:
    void register_hooks(hooks::Registrar& r) override {
        r.on<hooks::Hook::Rcpt>([](hooks::Context&, const hooks::AddressArgs&, hooks::HookCall c) { c.declined(); });
    }
};
std::unique_ptr<hooks::Plugin> make_decliner() { return std::make_unique<Decliner>(); }
const hooks::CatalogEntry kCatalog[] = {{"decliner", &make_decliner}};

std::unique_ptr<hooks::Registry> plugins(std::vector<std::string> instances) {
    proto::PluginList list;
    int n = 0;
    for (auto& i : instances) {
        proto::PluginLine l;
        l.name = "decliner";
        l.instance = i;
        l.file = "config/plugins";
        l.line = ++n;
        list.plugins.push_back(l);
    }
    hooks::FlatConfig config{"/tmp/asmtpd-config"};
    hooks::ServerFacts server;
    std::vector<std::string> errors;
    auto r = hooks::Registry::build(list, kCatalog, config, server, errors);
    REQUIRE(errors.empty());
    return r;
}

const hooks::Plugin& first_rcpt_plugin(const hooks::Registry& r, std::size_t i = 0) {
    return *r.entries(hooks::Hook::Rcpt).at(i).plugin;
}
}  // namespace

TEST_CASE("metrics: plugin answers land on the plugin's name; a reload keeps old names") {
    auto reg = make(1);
    WorkerMetrics w(reg, 0);
    auto first = plugins({"decliner", "decliner:2"});
    w.configuration_loaded(*first);
    using A = hooks::ChainObserver::Answer;
    w.plugin_answered(hooks::Hook::Rcpt, first_rcpt_plugin(*first, 1), A::Verdict, hooks::Result::Deny, 1'000'000);
    w.plugin_answered(hooks::Hook::Rcpt, first_rcpt_plugin(*first, 1), A::Timeout, hooks::Result::DenySoft, 30'000'000'000);
    auto second = plugins({"decliner:3", "decliner:2"});
    w.configuration_loaded(*second);
    w.plugin_answered(hooks::Hook::Rcpt, first_rcpt_plugin(*second, 0), A::Exception, hooks::Result::Declined, 10);
    const auto names = reg->plugin_names();
    CHECK(names == std::vector<std::string>{"decliner", "decliner:2", "decliner:3"});
    const auto s = reg->sum();
    const auto rcpt = static_cast<std::size_t>(hooks::Hook::Rcpt);
    CHECK(s->plugin_verdicts[1][rcpt][static_cast<std::size_t>(hooks::Result::Deny)] == 1);
    CHECK(s->plugin_verdicts[1][rcpt][kVerdictTimeout] == 1);
    CHECK(s->plugin_verdicts[2][rcpt][kVerdictError] == 1);
    CHECK(s->plugin_latency[1].count == 2);
    CHECK(s->generation == 2);
    CHECK(s->reloads_ok == 1);
    const std::string page = reg->render();
    CHECK(has_line(page, "asmtpd_plugin_verdicts_total{plugin=\"decliner:2\",hook=\"rcpt\",verdict=\"timeout\"} 1"));
    CHECK(has_line(page, "asmtpd_plugin_duration_seconds_count{plugin=\"decliner:3\"} 1"));
    CHECK(has_line(page, "asmtpd_config_reloads_total{result=\"ok\"} 1"));
}

TEST_CASE("metrics: generation and reloads: a process's first configuration is no reload") {
    auto reg = make(1);
    auto list = plugins({"decliner"});
    {
        WorkerMetrics w(reg, 0);
        w.configuration_loaded(*list);
        w.configuration_loaded(*list);
        w.reload_failed();
        CHECK(reg->sum()->generation == 2);
    }
    // A restarted worker: its first configuration is generation 1 again, and no reload.
    WorkerMetrics again(reg, 0);
    again.configuration_loaded(*list);
    const auto s = reg->sum();
    CHECK(s->generation == 1);
    CHECK(s->reloads_ok == 1);
    CHECK(s->reloads_failed == 1);
}

}  // namespace ASMTPD_TEST_UNIT

// control_supervisor.cpp - the control socket's commands in the supervisor (see the header).
#include "core/smtp/control_supervisor.hpp"

#include <unistd.h>

#include <sstream>

#include <fmt/format.h>

#include "core/smtp/control_replies.hpp"

namespace asmtpd::smtp {

namespace {
constexpr std::uint64_t kPollMs = 20;

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);)
        if (!l.empty()) out.push_back(l);
    return out;
}
}  // namespace

SupervisorControl::SupervisorControl(uv_loop_t* loop, std::shared_ptr<MetricsRegistry> registry,
                                     const SupervisorState& state, io::Log log)
    : loop_(loop), registry_(std::move(registry)), state_(state), log_(std::move(log)), timer_(loop) {}

void SupervisorControl::handle(proto::ControlVerb verb, ControlServer::Answer answer) {
    using V = proto::ControlVerb;
    switch (verb) {
        case V::Status: {
            ControlStatus st;
            st.pid = ::getpid();
            st.generation = generation_;
            st.draining = state_.draining;
            for (unsigned i = 0; i < state_.pids.size(); ++i) st.workers.push_back({i, state_.pids[i]});
            answer(proto::control_ok_reply(verb, status_body(st, *registry_)));
            return;
        }
        case V::Plugins: answer(proto::control_ok_reply(verb, plugins_body(*registry_))); return;
        case V::Drain: {
            const bool already = state_.draining;
            std::uint64_t sessions = 0;
            for (unsigned i = 0; i < registry_->workers(); ++i) sessions += metric_load(registry_->worker(i).open_sessions);
            if (!already) {
                log_.notice("control: drain: stopping like SIGTERM ({} sessions open)", sessions);
                request_stop();
            }
            answer(proto::control_ok_reply(verb, {{"sessions", sessions}, {"already", already}}));
            return;
        }
        case V::Reload:
            if (state_.draining) {
                answer(proto::control_error_reply("draining: not reloading", {{"generation", generation_}}));
                return;
            }
            log_.notice("control: reload: reloading like SIGHUP");
            asked_.push_back(std::move(answer));
            request_reload();
            return;
    }
}

void SupervisorControl::reload_forwarded() {
    Round r;
    const unsigned n = registry_->workers();
    r.pids = state_.pids;
    r.pids.resize(n, 0);
    for (unsigned i = 0; i < n; ++i) {
        r.ok.push_back(metric_load(registry_->worker(i).reloads_ok));
        r.failed.push_back(metric_load(registry_->worker(i).reloads_failed));
    }
    r.started = uv_now(loop_);
    r.waiting = std::move(asked_);
    asked_.clear();
    rounds_.push_back(std::move(r));
    if (!timer_.active()) timer_.start(kPollMs, [this] { poll(); });
}

void SupervisorControl::poll() {
    const std::uint64_t now = uv_now(loop_);
    for (auto it = rounds_.begin(); it != rounds_.end();) {
        bool all = true;
        for (unsigned i = 0; i < it->pids.size() && all; ++i) {
            if (it->pids[i] == 0 || i >= state_.pids.size() || state_.pids[i] == 0) continue;   // gone: left out
            const WorkerCounters& c = registry_->worker(i);
            all = metric_load(c.reloads_ok) > it->ok[i] || metric_load(c.reloads_failed) > it->failed[i];
        }
        const bool timed_out = !all && now - it->started >= kReloadDeadlineMs;
        if (!all && !timed_out) {
            ++it;
            continue;
        }
        finish(*it, timed_out);
        it = rounds_.erase(it);
    }
    if (!rounds_.empty()) timer_.start(kPollMs, [this] { poll(); });
}

void SupervisorControl::finish(Round& r, bool timed_out) {
    std::vector<std::string> errors;
    std::vector<unsigned> failed, late;
    unsigned loaded = 0;
    for (unsigned i = 0; i < r.pids.size(); ++i) {
        if (r.pids[i] == 0) continue;
        const WorkerCounters& c = registry_->worker(i);
        if (metric_load(c.reloads_failed) > r.failed[i]) {
            failed.push_back(i);
            if (errors.empty()) errors = lines_of(registry_->reload_error(i));
        } else if (metric_load(c.reloads_ok) > r.ok[i]) {
            ++loaded;
        } else if (timed_out && i < state_.pids.size() && state_.pids[i] != 0) {
            late.push_back(i);
        }
    }
    std::string reply;
    if (failed.empty() && late.empty()) {
        ++generation_;
        log_.notice("reload: every worker loaded the configuration; generation {}", generation_);
        reply = proto::control_ok_reply(proto::ControlVerb::Reload, {{"generation", generation_}, {"workers", loaded}});
    } else {
        std::string why = !failed.empty()
            ? fmt::format("reload failed in {} of {} workers; keeping the running configuration", failed.size(),
                          failed.size() + loaded + late.size())
            : fmt::format("{} workers did not answer the reload within {} s", late.size(), kReloadDeadlineMs / 1000);
        log_.error("reload: {}", why);
        reply = proto::control_error_reply(why, {{"generation", generation_}, {"errors", errors}});
    }
    for (auto& a : r.waiting) a(reply);
}

}  // namespace asmtpd::smtp

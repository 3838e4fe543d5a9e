// server_control.cpp - the control socket's commands in the single process of `workers: 1`
// (the supervisor's are control_supervisor.cpp): reload and drain are Server::reload_runtime
// and Server::stop, the very calls SIGHUP and SIGTERM make.
#include <unistd.h>

#include <sstream>

#include "core/io/service_notify.hpp"
#include "core/smtp/control_replies.hpp"
#include "core/smtp/server.hpp"

namespace asmtpd::smtp {

void Server::control(proto::ControlVerb verb, ControlServer::Answer answer) {
    using V = proto::ControlVerb;
    switch (verb) {
        case V::Status: {
            ControlStatus st;
            st.pid = ::getpid();
            st.generation = generation_;
            st.draining = stopping_;
            st.workers.push_back({worker_, ::getpid()});
            answer(proto::control_ok_reply(verb, status_body(st, *metrics_registry_)));
            return;
        }
        case V::Plugins: answer(proto::control_ok_reply(verb, plugins_body(*metrics_registry_))); return;
        case V::Drain: {
            const bool already = stopping_;
            answer(proto::control_ok_reply(verb, {{"sessions", sessions_.size()}, {"already", already}}));
            if (!already) {
                log_.notice("control: drain: stopping like SIGTERM");
                stop();
            }
            return;
        }
        case V::Reload: {
            if (stopping_) {
                answer(proto::control_error_reply("draining: not reloading", {{"generation", generation_}}));
                return;
            }
            log_.notice("control: reload: reloading like SIGHUP");
            if (notify_service_) io::service::reloading();
            std::string why;
            const bool ok = reload_runtime(&why);
            if (notify_service_) io::service::ready(service_status());
            if (ok) {
                answer(proto::control_ok_reply(verb, {{"generation", generation_}, {"workers", 1}}));
                return;
            }
            std::vector<std::string> errors;
            std::istringstream in(why);
            for (std::string l; std::getline(in, l);)
                if (!l.empty()) errors.push_back(l);
            answer(proto::control_error_reply("reload failed; keeping the running configuration",
                                              {{"generation", generation_}, {"errors", errors}}));
            return;
        }
    }
}

}  // namespace asmtpd::smtp

// plugtest_report.cpp - what asmtpd-plugtest prints: the verdict, the exact reply (as the
// session would frame it), side effects, and the log. Mirrors Session::reply/prefix_reply and the
// success replies of core/smtp/cmd_*.cpp; never decides anything itself (hooks::dispose does).
#include <cctype>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "hooks/defaults.hpp"
#include "tools/plugtest/plugtest.hpp"

namespace asmtpd::plugtest {

namespace {

// Session::prefix_reply: "NNN-" / "NNN " is dropped, the reply's code frames the line.
std::string strip_code(std::string line) {
    if (line.size() >= 4 && std::isdigit(static_cast<unsigned char>(line[0])) &&
        std::isdigit(static_cast<unsigned char>(line[1])) && std::isdigit(static_cast<unsigned char>(line[2])) &&
        (line[3] == '-' || line[3] == ' '))
        line.erase(0, 4);
    else if (line.size() == 3 && std::isdigit(static_cast<unsigned char>(line[0])))
        line.clear();
    return line;
}

std::vector<std::string> frame(proto::Reply r, const std::vector<std::string>& prefix) {
    std::vector<std::string> pre;
    for (const auto& p : prefix) pre.push_back(strip_code(p));
    r.lines.insert(r.lines.begin(), pre.begin(), pre.end());
    std::vector<std::string> out;
    std::istringstream in(r.wire(true));
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        out.push_back(line);
    }
    return out;
}

// What the session sends when the chain lets the command through.
proto::Reply success(hooks::Hook hook, const Options& o, const std::string& hostname, const proto::Address* subject) {
    switch (hook) {
        case hooks::Hook::Connect: return proto::Reply::make(220, "", hostname + " ESMTP asmtpd ready");
        case hooks::Hook::Helo:
        case hooks::Hook::Ehlo: return proto::Reply::make(250, "", hostname + " Hi Unknown [" + o.ip + "]");
        case hooks::Hook::Mail:
            return proto::Reply::make(250, "2.1.0", (subject ? subject->format() : "<>") + ", sender OK");
        case hooks::Hook::Rcpt:
        case hooks::Hook::RcptPost:
            return proto::Reply::make(250, "2.1.5", (subject ? subject->format() : "") + ", recipient ok");
        case hooks::Hook::AuthPost: return proto::Reply::make(235, "2.7.0", "Authentication successful");
        case hooks::Hook::Data: return proto::Reply::make(354, "", "End data with <CR><LF>.<CR><LF>");
        default: return proto::Reply::make(250, "2.0.0", "Queued as ...");
    }
}

}  // namespace

std::string_view hook_label(hooks::Hook h) {
    switch (h) {
        case hooks::Hook::Connect: return "connect";
        case hooks::Hook::Helo: return "helo";
        case hooks::Hook::Ehlo: return "ehlo";
        case hooks::Hook::Mail: return "mail";
        case hooks::Hook::Rcpt: return "rcpt";
        case hooks::Hook::Data: return "data";
        case hooks::Hook::DataPost: return "data_post";
        default: return hooks::hook_name(h);
    }
}

ClientView client_view(hooks::Hook hook, const hooks::Verdict& v, const std::vector<std::string>& prefix,
                       const Options& o, const std::string& hostname, const proto::Address* subject) {
    ClientView cv;
    hooks::Disposition d = hooks::dispose(hook, v);
    switch (d.action) {
        case hooks::Action::Proceed:
            cv.lines = frame(success(hook, o, hostname, subject), prefix);
            if (hook == hooks::Hook::Ehlo) cv.note = "the EHLO capability lines follow";
            if (v.result == hooks::Result::Declined)
                cv.note += (cv.note.empty() ? "" : "; ") +
                           std::string("DECLINED: plugins after this one in config/plugins may still decide");
            if (hook == hooks::Hook::DataPost) cv.note += (cv.note.empty() ? "" : "; ") + std::string("the queue plugin's reply follows");
            break;
        case hooks::Action::Respond:
            cv.lines = frame(d.reply, prefix);
            if (hook == hooks::Hook::Rcpt && v.result == hooks::Result::Declined)
                cv.note = "DECLINED: this is the reply only if no later plugin (rcpt_ok, relay ...) accepts";
            break;
        case hooks::Action::RespondClose:
            cv.lines = frame(d.reply, prefix);
            cv.closes = true;
            break;
        case hooks::Action::Silent: cv.note = "no reply: the plugin answered the client itself"; break;
        case hooks::Action::SilentClose:
            cv.closes = true;
            cv.note = "the connection is closed without any reply";
            break;
    }
    return cv;
}

std::vector<std::string> env_diff(const std::map<std::string, std::string>& before,
                                  const std::map<std::string, std::string>& after) {
    std::vector<std::string> out;
    for (const auto& [k, v] : after) {
        auto it = before.find(k);
        if (it == before.end() || it->second != v) out.push_back("+" + k + "=" + v);
    }
    for (const auto& [k, v] : before)
        if (!after.count(k)) out.push_back("-" + k);
    return out;
}

std::string message_text(const Options& o, std::string& error) {
    if (o.message_file.empty())
        return "From: plugtest@localhost\r\nSubject: asmtpd-plugtest\r\n\r\nThis is a test message.\r\n";
    std::ifstream in(o.message_file, std::ios::binary);
    if (!in) {
        error = "cannot read " + o.message_file;
        return {};
    }
    std::stringstream ss;
    ss << in.rdbuf();
    std::string raw = ss.str(), out;
    out.reserve(raw.size() + raw.size() / 40);
    for (std::size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] == '\n' && (i == 0 || raw[i - 1] != '\r')) out += '\r';
        out += raw[i];
    }
    if (!out.empty() && out.back() != '\n') out += "\r\n";
    return out;
}

void print_report(const Options& o, const Report& r, const std::string& hostname, const std::string& log_text) {
    std::printf("plugin: %s\n", r.plugin.c_str());
    std::printf("hook: %s\n", std::string(hook_label(o.hook)).c_str());
    for (const auto& n : r.notes) std::printf("note: %s\n", n.c_str());
    for (const auto& s : r.steps) {
        if (r.steps.size() > 1 || !s.label.empty()) std::printf("\n[%s]\n", s.label.c_str());
        std::printf("verdict: %s\n", std::string(hooks::to_string(s.verdict.result)).c_str());
        const proto::Address* subject = s.address ? &*s.address : nullptr;
        proto::Address original;
        if (!subject) {
            if (o.hook == hooks::Hook::Mail) subject = &o.from;
            else if (o.hook == hooks::Hook::Rcpt || o.hook == hooks::Hook::RcptPost) {
                for (const auto& a : o.rcpts)
                    if (s.label == "rcpt " + a.format()) original = a, subject = &original;
            }
        }
        ClientView cv = client_view(o.hook, s.verdict, s.prefix, o, hostname, subject);
        for (const auto& l : cv.lines) std::printf("reply: %s\n", l.c_str());
        if (!cv.note.empty()) std::printf("note: %s\n", cv.note.c_str());
        if (cv.closes) std::printf("close: yes\n");
        if (s.verdict.keep_transaction) std::printf("transaction: kept\n");
        if (s.address) std::printf("address: %s\n", s.address->format().c_str());
        for (const auto& e : s.env_changes) std::printf("env: %s\n", e.c_str());
    }
    if (!r.headers.empty() || !r.deferred.empty() || r.disabled) std::printf("\n");
    for (const auto& h : r.headers) std::printf("header: %s\n", h.c_str());
    for (const auto& d : r.deferred) std::printf("deferred: %s\n", d.c_str());
    if (r.disabled) std::printf("disabled: yes (no more plugins of this kind run in this connection)\n");
    if (!log_text.empty()) {
        std::printf("\n");
        std::istringstream in(log_text);
        std::string line;
        while (std::getline(in, line)) std::printf("log: %s\n", line.c_str());
    }
}

}  // namespace asmtpd::plugtest

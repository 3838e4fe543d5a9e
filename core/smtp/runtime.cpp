// runtime.cpp - loading one configuration: asmtpd.yaml, the plugin list, the plugins.
// Runs at start-up, on --check and on SIGHUP; reads files synchronously (never per session).
#include "core/smtp/runtime.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/io/dir_check.hpp"
#include "core/proto/config_path.hpp"
#include "core/proto/plugin_list.hpp"
#include "core/smtp/config_paths.hpp"
#include "core/smtp/plugin_list_file.hpp"
#include "core/smtp/qpsmtpd_control.hpp"
#include "plugins/legacy_names.hpp"

namespace asmtpd::smtp {

namespace fs = std::filesystem;

namespace {

// qpsmtpd's "tls [cert [key]]" plugin line configures STARTTLS like asmtpd.yaml's tls section
// does (which wins when both are there); it is not a hook plugin here.
void tls_from_plugin_line(const proto::PluginLine& l, const std::string& config_dir, TlsSettings& tls,
                          std::vector<std::string>& errors) {
    if (l.args.size() > 2) {
        errors.push_back(l.where() + ": tls takes at most a certificate and a key file");
    } else if (!tls.enabled()) {
        const std::string base = config_base(config_dir);
        auto abs = [&](const std::string& f) { return proto::resolve_config_path(base, f); };
        tls.cert = abs(l.args.size() > 0 ? l.args[0] : "ssl/qpsmtpd-server.crt");
        tls.key = abs(l.args.size() > 1 ? l.args[1] : (l.args.size() > 0 ? l.args[0] : "ssl/qpsmtpd-server.key"));
        tls.cert_at = tls.key_at = l.where() + ": tls";
    }
}

// A load error ("tls cert PATH: why") at the line that set the failing value, in the form of
// every other start-up error: "conf/asmtpd.yaml:7: tls.cert: PATH: why".
std::string tls_problem(const TlsSettings& t, const std::string& config_dir, const std::string& err) {
    for (const auto& [prefix, at] : {std::pair<std::string_view, const std::string*>{"tls cert ", &t.cert_at},
                                     {"tls key ", &t.key_at},
                                     {"tls min_version ", &t.min_version_at},
                                     {"tls ciphers ", &t.ciphers_at}})
        if (err.starts_with(prefix) && !at->empty()) return *at + ": " + err.substr(prefix.size());
    return fmt::format("{}/asmtpd.yaml: tls: {}", config_dir, err);
}

std::shared_ptr<io::TlsContext> load_tls(const TlsSettings& t, std::string& error) {
    return io::TlsContext::load_server(t.cert, t.key, t.min_version, t.ciphers, error);
}

std::vector<std::string> settings_keys(std::span<const hooks::CatalogEntry> catalog) {
    std::vector<std::string> keys;   // asmtpd.yaml sections the plugins own
    for (const auto& e : catalog)
        if (e.settings_key) keys.emplace_back(e.settings_key);
    return keys;
}

}  // namespace

SettingsResult load_start_settings(const std::string& config_dir, std::span<const hooks::CatalogEntry> catalog) {
    SettingsResult sr = load_settings(config_dir, settings_keys(catalog));
    hooks::FlatConfig config(config_dir);
    std::vector<std::string> ignored;   // load_runtime reports them
    apply_qpsmtpd_control_files(config, sr.given, sr.settings.hostname, sr.settings, sr.errors, ignored);
    return sr;
}

PreloadedTls preload_tls(const std::string& config_dir, const Settings& settings) {
    PreloadedTls out;
    out.settings = settings.tls;
    proto::PluginList list = read_plugin_list(config_dir);
    std::vector<std::string> ignored;   // load_runtime reports them
    for (const auto& l : list.plugins)
        if (l.name == "tls") tls_from_plugin_line(l, config_dir, out.settings, ignored);
    if (out.settings.enabled()) out.context = load_tls(out.settings, out.error);
    return out;
}

std::shared_ptr<const Runtime> load_runtime(const std::string& config_dir,
                                            std::span<const hooks::CatalogEntry> catalog,
                                            std::vector<std::string>& errors, bool check_only,
                                            const PreloadedTls* tls, bool spool_prepared) {
    const std::size_t errors_before = errors.size();
    auto rt = std::make_shared<Runtime>();
    SettingsResult sr = load_settings(config_dir, settings_keys(catalog));
    errors.insert(errors.end(), sr.errors.begin(), sr.errors.end());
    rt->settings = std::move(sr.settings);
    rt->config = std::make_unique<hooks::FlatConfig>(config_dir);

    auto& facts = rt->facts;
    facts.hostname = rt->settings.hostname;
    // qmail's control/me names the host when asmtpd.yaml does not.
    if (auto me = rt->config->first("me"); me && !me->empty() &&
                                           (facts.hostname.empty() || facts.hostname == machine_hostname()))
        facts.hostname = *me;
    if (facts.hostname.empty()) facts.hostname = machine_hostname();
    apply_qpsmtpd_control_files(*rt->config, sr.given, facts.hostname, rt->settings, errors, rt->notices);
    facts.config_dir = config_base(config_dir);   // absolute: ServerFacts::path() resolves against it
    facts.spool_dir = rt->settings.spool_dir;
    facts.plugin_timeout = std::chrono::seconds(rt->settings.timeouts.plugin);
    facts.databytes = rt->settings.limits.databytes;
    facts.max_rcpts = rt->settings.limits.max_rcpts;
    facts.max_connections_per_ip = rt->settings.limits.max_connections_per_ip;
    facts.plugin_settings = rt->settings.plugin_sections;

    facts.check_only = check_only;

    std::error_code ec;
    if (spool_prepared) {
        // main.cpp made it (or, for --check, saw that it can) before the privilege drop.
    } else if (check_only) {
        if (auto why = io::creatable_directory(facts.spool_dir); !why.empty())
            errors.push_back(fmt::format("{}/asmtpd.yaml: spool_dir: {}", config_dir, why));
    } else {
        fs::create_directories(facts.spool_dir, ec);
        if (ec) errors.push_back(fmt::format("{}/asmtpd.yaml: spool_dir: cannot create {}: {}", config_dir,
                                             facts.spool_dir, ec.message()));
    }
    // Checked as the user the daemon runs as (this runs after the privilege drop), so a spool
    // left owned by root fails here and not on the first large message.
    if (!ec && fs::is_directory(facts.spool_dir, ec) && ::access(facts.spool_dir.c_str(), W_OK | X_OK) != 0)
        errors.push_back(fmt::format("{}/asmtpd.yaml: spool_dir: {} is not writable by uid {}: {}", config_dir,
                                     facts.spool_dir, ::geteuid(), std::strerror(errno)));

    const std::string tcp_env = config_dir + "/tcp.env";
    if (fs::exists(tcp_env, ec)) {
        if (auto ce = smtp::ClientEnv::load(tcp_env, errors))
            rt->client_env = std::make_shared<const smtp::ClientEnv>(std::move(*ce));
    }

    proto::PluginList list = read_plugin_list(config_dir);
    plugins::migrate_legacy_names(list, catalog, *rt->config, rt->notices);
    errors.insert(errors.end(), list.errors.begin(), list.errors.end());
    // A bad line does not stop the others from being loaded and checked: --check lists all.
    std::erase_if(list.plugins, [&](const proto::PluginLine& l) {
        if (l.name != "tls") return false;
        tls_from_plugin_line(l, config_dir, rt->settings.tls, errors);
        return true;
    });
    auto reg = hooks::Registry::build(list, catalog, *rt->config, facts, errors);
    for (const auto& w : reg->warnings()) rt->warnings.push_back(w);
    rt->registry = std::shared_ptr<const hooks::Registry>(std::move(reg));
    if (rt->settings.tls.enabled()) {
        std::string err;
        const bool same = tls && tls->settings == rt->settings.tls;
        if (same && !tls->reread) {
            rt->tls = tls->context;
            err = tls->error;
        } else {
            rt->tls = load_tls(rt->settings.tls, err);
            if (!rt->tls && same && tls->context) {
                rt->warnings.push_back(tls_problem(rt->settings.tls, config_dir, err) +
                                       "; keeping the certificate and key already loaded");
                rt->tls = tls->context;
            }
        }
        if (!rt->tls) errors.push_back(tls_problem(rt->settings.tls, config_dir, err));
    }
    rt->trusted_proxies = proto::CidrList::parse(rt->settings.trusted_proxies);
    rt->normalize_from = proto::CidrList::parse(rt->settings.bare_lf_normalize_from);
    for (const auto& w : rt->config->warnings()) errors.push_back(w);
    if (errors.size() != errors_before || !rt->registry) return nullptr;
    rt->min_free_space = io::parse_space_threshold(rt->settings.limits.min_free_space).value_or(io::SpaceThreshold{});
    rt->storage_paths.push_back(facts.spool_dir);
    for (auto& p : rt->registry->storage_paths()) rt->storage_paths.push_back(std::move(p));
    return rt;
}

}  // namespace asmtpd::smtp

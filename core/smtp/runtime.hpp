// runtime.hpp - one loaded configuration: settings, flat files, plugin instances.
//
// Immutable once built and shared by every session started under it; SIGHUP builds a new one
// and only new sessions see it, so a session never sees its chains change under it.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/io/tls.hpp"
#include "core/proto/cidr.hpp"
#include "core/smtp/settings.hpp"
#include "core/smtp/client_env.hpp"
#include "hooks/context.hpp"
#include "hooks/flat_config.hpp"
#include "hooks/registry.hpp"

namespace asmtpd::smtp {

struct Runtime {
    Settings settings;
    hooks::ServerFacts facts;
    std::unique_ptr<hooks::FlatConfig> config;
    std::shared_ptr<const hooks::Registry> registry;
    std::shared_ptr<io::TlsContext> tls;   // null when TLS is not configured
    proto::CidrList trusted_proxies;       // who may send a PROXY header
    proto::CidrList normalize_from;        // bare_lf: normalize applies to these (empty: all)
    // DIR/tcp.env when it exists: per-client allow/deny and environment (tcprules format).
    std::shared_ptr<const smtp::ClientEnv> client_env;
    // limits.min_free_space, and where it applies: the spool and every plugin's storage.
    io::SpaceThreshold min_free_space;
    std::vector<std::string> storage_paths;
    // "file:line: note: ..." about what was read differently from the file's own words
    // (qpsmtpd names mapped, qpsmtpd control files): printed at start-up and by --check.
    std::vector<std::string> notices;
    // Worth a warning but not a refusal (a reload that kept the TLS key it can no longer read,
    // a plugin's init_warnings()): "file:line: text".
    std::vector<std::string> warnings;
};

// The server's TLS context read before the privilege drop (the key file is usually root's
// alone), or on SIGHUP the running one. load_runtime uses it only while the configuration
// still names the same files and options.
struct PreloadedTls {
    TlsSettings settings;                       // what `context` was loaded from
    std::shared_ptr<io::TlsContext> context;    // null: TLS off, or loading failed (error)
    std::string error;
    // false (start-up): use `context` as it is. true (reload): read the files again, as the
    // user the daemon runs as, and fall back to `context` (with a warning) only when that fails.
    bool reread = false;
};

// asmtpd.yaml with the qpsmtpd control files applied (spool_dir, tls_ciphers ...), as
// load_runtime will see it: what start-up needs before the privilege drop. Errors are left for
// load_runtime to report once.
SettingsResult load_start_settings(const std::string& config_dir, std::span<const hooks::CatalogEntry> catalog);

// asmtpd.yaml's tls section, or a qpsmtpd "tls [cert [key]]" line in DIR/plugins, loaded now.
// Problems with the files themselves are left for load_runtime to report.
PreloadedTls preload_tls(const std::string& config_dir, const Settings& settings);

// Loads DIR/asmtpd.yaml, DIR/plugins and every plugin's init(). Problems are appended to
// errors as "file:line: message"; the result is null when there was any.
// check_only (--check): nothing is created on disk (spool, maildirs); what could not be
// created is still reported.
std::shared_ptr<const Runtime> load_runtime(const std::string& config_dir,
                                            std::span<const hooks::CatalogEntry> catalog,
                                            std::vector<std::string>& errors, bool check_only = false,
                                            const PreloadedTls* tls = nullptr, bool spool_prepared = false);

}  // namespace asmtpd::smtp

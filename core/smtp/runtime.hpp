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
};

// Loads DIR/asmtpd.yaml, DIR/plugins and every plugin's init(). Problems are appended to
// errors as "file:line: message"; the result is null when there was any.
// check_only (--check): nothing is created on disk (spool, maildirs); what could not be
// created is still reported.
std::shared_ptr<const Runtime> load_runtime(const std::string& config_dir,
                                            std::span<const hooks::CatalogEntry> catalog,
                                            std::vector<std::string>& errors, bool check_only = false);

}  // namespace asmtpd::smtp

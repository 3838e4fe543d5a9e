// config_paths.cpp - the configuration directory as the base of relative paths (config_paths.hpp).
#include "core/smtp/config_paths.hpp"

#include <filesystem>
#include <system_error>

#include "core/proto/config_path.hpp"

namespace asmtpd::smtp {

namespace fs = std::filesystem;

std::string config_base(const std::string& config_dir) {
    std::error_code ec;
    const fs::path given = config_dir.empty() ? fs::path(".") : fs::path(config_dir);
    fs::path abs = fs::absolute(given, ec);
    if (ec) return proto::resolve_config_path("", config_dir.empty() ? "." : config_dir);
    fs::path real = fs::weakly_canonical(abs, ec);
    std::string out = (ec ? abs.lexically_normal() : real).string();
    while (out.size() > 1 && out.back() == '/') out.pop_back();
    return out;
}

void resolve_setting_paths(Settings& s, const std::string& base) {
    for (std::string* p : {&s.spool_dir, &s.state.path, &s.tls.cert, &s.tls.key})
        *p = proto::resolve_config_path(base, *p);
}

}  // namespace asmtpd::smtp

// config_path.cpp - relative configuration paths against the configuration directory
// (config_path.hpp). Lexical only: std::filesystem::path's text operations, no system call.
#include "core/proto/config_path.hpp"

#include <filesystem>

namespace asmtpd::proto {

std::string resolve_config_path(std::string_view base, std::string_view path) {
    namespace fs = std::filesystem;
    if (path.empty()) return {};
    fs::path p{std::string(path)};
    if (p.is_absolute()) return std::string(path);
    if (!base.empty()) p = fs::path(std::string(base)) / p;
    std::string out = p.lexically_normal().string();
    while (out.size() > 1 && out.back() == '/') out.pop_back();
    return out.empty() ? std::string(".") : out;
}

}  // namespace asmtpd::proto

// dir_check.cpp - see dir_check.hpp.
#include "core/io/dir_check.hpp"

#include <unistd.h>

#include <filesystem>

namespace asmtpd::io {

std::string creatable_directory(const std::string& path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::path p = fs::absolute(path, ec);
    if (ec) return "cannot resolve " + path + ": " + ec.message();
    if (fs::exists(p, ec)) {
        if (!fs::is_directory(p, ec)) return path + " exists and is not a directory";
        return "";
    }
    fs::path up = p.parent_path();
    while (!up.empty() && !fs::exists(up, ec)) {
        if (up == up.parent_path()) break;
        up = up.parent_path();
    }
    if (!fs::is_directory(up, ec)) return "cannot create " + path + ": " + up.string() + " is not a directory";
    if (::access(up.c_str(), W_OK | X_OK) != 0)
        return "cannot create " + path + ": " + up.string() + " is not writable";
    return "";
}

}  // namespace asmtpd::io

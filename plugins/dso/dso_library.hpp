// dso_library.hpp - one loaded shared object: dlopen, the entry symbol, and the checked copy of
// what the plugin answered (asmtpd's native ABI, hooks/plugin_abi.h, or IndiMail's plugin_init).
//
// Rules: loading happens once, at plugin init, on the loop (main) thread; errors come back as
// text with dlerror()'s reason. The object is never dlclose()d: an abandoned call may still be
// running in it, and IndiMail plugins keep static state (RTLD_NODELETE semantics by design).
// A native plugin's destroy() runs in ~Library, i.e. when the last Dso instance and the last
// call holding the library let go (on the loop thread), never while one of its calls runs.
// Ownership: shared by the Dso plugin and every in-flight call; the host API table lives here
// because the plugin keeps pointers to it.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hooks/plugin_abi.h"

namespace asmtpd::plugins::dso {

// IndiMail's PLUGIN (indimail-mta smtp_plugin.h): the same three pointers, in this order.
extern "C" {
struct IndimailPlugin {
    int (*mail_func)(const char* remoteip, const char* from, char** mesg);
    int (*rcpt_func)(const char* remoteip, const char* mailfrom, const char* rcpt, char** mesg);
    int (*data_func)(const char* localhost, const char* remoteip, const char* remotehost,
                     const char* remoteinfo, char** mesg);
};
typedef IndimailPlugin* (*IndimailInitFn)(void);
}

enum class Abi { Native, Indimail };

inline constexpr const char* kIndimailInit = "plugin_init";

struct LoadOptions {
    std::string path;                    // absolute, or as dlopen should search it
    std::optional<std::string> symbol;   // IndiMail init name (SMTP_PLUGIN_SYMB); forces Indimail
    std::vector<std::string> args;       // native argv[1..]
    std::string config_dir;
    std::string server_name;
};

class Library {
public:
    // Null on failure, with `error` set ("cannot load X: <dlerror>", "... returned NULL" ...).
    static std::shared_ptr<Library> load(const LoadOptions& o, std::string& error);
    ~Library();
    Library(const Library&) = delete;
    Library& operator=(const Library&) = delete;

    Abi abi() const { return abi_; }
    const std::string& path() const { return path_; }
    void* handle() const { return handle_; }
    // Both valid for their ABI only. native(): a full v1 struct, zero past the plugin's size.
    const IndimailPlugin& indimail() const { return indimail_; }
    const asmtpd_plugin_v1& native() const { return native_; }
    bool may_block() const { return abi_ == Abi::Indimail || (native_.flags & ASMTPD_PLUGIN_MAY_BLOCK); }
    bool thread_safe() const { return abi_ == Abi::Native && (native_.flags & ASMTPD_PLUGIN_THREAD_SAFE); }
    // The plugin's own name (native) or the file's base name.
    std::string display_name() const;
    // Things to say at start-up that do not stop the load.
    const std::vector<std::string>& warnings() const { return warnings_; }

private:
    Library() = default;
    std::optional<std::string> load_native(void* entry, const LoadOptions& o);
    std::optional<std::string> load_indimail(void* init, const std::string& symbol);

    Abi abi_ = Abi::Native;
    std::string path_;
    void* handle_ = nullptr;
    IndimailPlugin indimail_{};
    asmtpd_plugin_v1 native_{};
    asmtpd_host_api_v1 host_{};
    bool call_destroy_ = false;   // the entry answered a checked v1 struct
    std::vector<std::string> warnings_;
};

}  // namespace asmtpd::plugins::dso

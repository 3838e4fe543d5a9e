// dso_library.cpp - dlopen and the checks of what the entry function answered.
//
// Must never: dlclose, let an exception escape into or out of plugin code, read past the
// struct_size a plugin declared, or accept a major ABI version it does not know.
#include "plugins/dso/dso_library.hpp"

#include <dlfcn.h>

#include <array>
#include <cstring>
#include <exception>
#include <filesystem>

#include <fmt/format.h>

#include "plugins/dso/dso_native.hpp"

namespace asmtpd::plugins::dso {

namespace {

// The plugin writes asmtpd_plugin_v1 into this: room for fields a newer minor may append.
constexpr std::size_t kOutCapacity = 1024;
static_assert(sizeof(asmtpd_plugin_v1) <= kOutCapacity);

constexpr std::size_t kV1Size = sizeof(asmtpd_plugin_v1);   // version 1.0: every field above

std::string dl_error() {
    const char* e = dlerror();
    return e ? e : "unknown error";
}

}  // namespace

std::shared_ptr<Library> Library::load(const LoadOptions& o, std::string& error) {
    std::shared_ptr<Library> lib(new Library());
    lib->path_ = o.path;
    dlerror();   // clear a stale message
    lib->handle_ = dlopen(o.path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib->handle_) {
        error = fmt::format("cannot load {}: {}", o.path, dl_error());
        return nullptr;
    }
    std::optional<std::string> err;
    if (!o.symbol) {
        dlerror();
        if (void* entry = dlsym(lib->handle_, ASMTPD_PLUGIN_ENTRY_V1)) {
            err = lib->load_native(entry, o);
        } else if (void* init = dlsym(lib->handle_, kIndimailInit)) {
            if (!o.args.empty()) err = "an IndiMail plugin takes no arguments after --";
            else err = lib->load_indimail(init, kIndimailInit);
        } else {
            err = fmt::format("neither {} nor {} found: {}", ASMTPD_PLUGIN_ENTRY_V1, kIndimailInit, dl_error());
        }
    } else {
        dlerror();
        void* init = dlsym(lib->handle_, o.symbol->c_str());
        if (!init) err = fmt::format("symbol {} not found: {}", *o.symbol, dl_error());
        else if (!o.args.empty()) err = "an IndiMail plugin takes no arguments after --";
        else err = lib->load_indimail(init, *o.symbol);
    }
    if (err) {
        // The handle stays open (never dlclose, see the header); only the reference is dropped,
        // and destroy() runs if the plugin's answer was a well-formed v1 struct.
        error = fmt::format("{}: {}", o.path, *err);
        return nullptr;
    }
    return lib;
}

std::optional<std::string> Library::load_native(void* entry, const LoadOptions& o) {
    abi_ = Abi::Native;
    std::vector<std::string> argv_store;
    argv_store.push_back(o.path);
    argv_store.insert(argv_store.end(), o.args.begin(), o.args.end());
    std::vector<const char*> argv;
    for (const auto& a : argv_store) argv.push_back(a.c_str());
    argv.push_back(nullptr);

    fill_host_api(host_);
    host_.argc = static_cast<int>(argv_store.size());
    host_.argv = argv.data();
    host_.config_dir = o.config_dir.c_str();
    host_.server_name = o.server_name.c_str();

    alignas(std::max_align_t) std::array<unsigned char, kOutCapacity> buf{};
    auto* out = reinterpret_cast<asmtpd_plugin_v1*>(buf.data());
    out->struct_size = kOutCapacity;
    out->abi_major = ASMTPD_ABI_MAJOR;
    out->abi_minor = ASMTPD_ABI_MINOR;

    int rc = -1;
    try {
        rc = reinterpret_cast<asmtpd_plugin_entry_v1_fn>(entry)(&host_, out);
    } catch (...) {
        return std::string("the entry function threw an exception");
    }
    // The entry-only fields point at locals of this function.
    host_.argc = 0;
    host_.argv = nullptr;
    host_.config_dir = nullptr;
    host_.server_name = nullptr;
    if (rc != 0) return fmt::format("{} returned {} (the plugin refused to load)", ASMTPD_PLUGIN_ENTRY_V1, rc);
    if (out->abi_major != ASMTPD_ABI_MAJOR)
        return fmt::format("ABI major version {} is not supported (this host speaks {}.{})", out->abi_major,
                           ASMTPD_ABI_MAJOR, ASMTPD_ABI_MINOR);
    if (out->struct_size < kV1Size || out->struct_size > kOutCapacity)
        return fmt::format("asmtpd_plugin_v1.struct_size {} is impossible (expected {}..{})", out->struct_size,
                           kV1Size, kOutCapacity);
    std::memcpy(&native_, out, sizeof native_);
    call_destroy_ = true;
    const auto& n = native_;
    if (!n.on_connect && !n.on_helo && !n.on_mail && !n.on_rcpt && !n.on_data_start && !n.on_data_end && !n.on_auth)
        return std::string("the plugin sets no hook");
    if (n.flags & ~(ASMTPD_PLUGIN_THREAD_SAFE | ASMTPD_PLUGIN_MAY_BLOCK))
        warnings_.push_back(fmt::format("unknown plugin flags 0x{:x} ignored", n.flags));
    if (out->abi_minor > ASMTPD_ABI_MINOR)
        warnings_.push_back(fmt::format("built for ABI {}.{}; this host speaks {}.{} (newer fields are ignored)",
                                        out->abi_major, out->abi_minor, ASMTPD_ABI_MAJOR, ASMTPD_ABI_MINOR));
    return std::nullopt;
}

std::optional<std::string> Library::load_indimail(void* init, const std::string& symbol) {
    abi_ = Abi::Indimail;
    IndimailPlugin* p = nullptr;
    try {
        p = reinterpret_cast<IndimailInitFn>(init)();
    } catch (...) {
        return fmt::format("{}() threw an exception", symbol);
    }
    if (!p) return fmt::format("{}() returned NULL", symbol);
    indimail_ = *p;   // IndiMail reads the pointers once per process too
    if (!indimail_.mail_func && !indimail_.rcpt_func && !indimail_.data_func)
        warnings_.push_back("mail_func, rcpt_func and data_func are all NULL: the plugin never runs");
    return std::nullopt;
}

Library::~Library() {
    if (!call_destroy_ || !native_.destroy) return;
    try {
        native_.destroy(native_.self);
    } catch (...) {
        // Nothing to do at this point; the plugin broke the contract (section 4).
    }
}

std::string Library::display_name() const {
    if (abi_ == Abi::Native && native_.name) return std::string(native_.name).substr(0, 64);
    return std::filesystem::path(path_).filename().string();
}

}  // namespace asmtpd::plugins::dso

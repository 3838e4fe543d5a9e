// builtin.hpp - the table of built-in plugins: config/plugins name -> factory.
// Only main.cpp and the server see this file (DESIGN.md §2).
#pragma once

#include <span>

#include "hooks/plugin.hpp"

namespace asmtpd::plugins {
std::span<const hooks::CatalogEntry> builtin_plugins();
}

// settings_control.hpp - asmtpd.yaml's `control:` section (settings.cpp reads the rest).
#pragma once

#include "core/smtp/settings.hpp"
#include "core/smtp/yaml_reader.hpp"

namespace asmtpd::smtp {

// control: {socket: PATH, mode: 0660, group: NAME}. A bad value is reported at its line and
// leaves the whole section at its defaults (no control socket).
void read_control_settings(YamlReader& r, const YAML::Node& v, const YamlAt& at, ControlSettings& out);

}  // namespace asmtpd::smtp

// Platform strings (os/arch[/variant]) parsed and normalised the way containerd does it.
#pragma once

#include <string>
#include <string_view>

namespace mai {

struct Platform {
  std::string os;
  std::string arch;
  std::string variant;  // empty when the architecture's default

  std::string str() const;            // linux/arm/v7
  std::string tag_suffix() const;     // armv7: the per-platform tag is <tag>-<suffix>
  std::string target_suffix() const;  // linux-arm-v7: used in target and file names
  bool operator==(const Platform&) const = default;
};

// Throws mai::Error(invalid_input) naming the input and the valid forms.
Platform parse_platform(std::string_view text);

}  // namespace mai

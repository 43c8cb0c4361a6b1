// Who owns a path of an assembled image and what it may do: an owner, permission bits (setuid,
// setgid and sticky included) and Linux file capabilities, as FILES, DIRECTORIES and the targets'
// MULTIARCH_IMAGE_OWNER/_MODE/_CAPABILITIES give them, checked here as the module checks them, and
// written into a layer's tar headers (capabilities as the security.capability extended attribute).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mai {

struct Permissions {
  std::optional<std::uint32_t> uid, gid;  // unset: 0
  std::optional<std::uint32_t> mode;      // permission bits, 07777 at most; unset: 0755 or 0644
  std::uint64_t capabilities = 0;         // bit n: capability n (CAP_NET_BIND_SERVICE is 10)
  bool empty() const { return !uid && !gid && !mode && capabilities == 0; }
  bool operator==(const Permissions&) const = default;
};

// The accounts ESSENTIALS accounts writes (distroless's): root 0, nobody 65534, nonroot 65532, each
// with a group of its own id. Names an owner may use.
std::optional<std::uint32_t> essential_account(std::string_view name);

// `<user>[:<group>]`: numeric ids (0 to 4294967294) or the names essential_account() knows; a user
// without a group gets the group of the same id, as COPY --chown does. `what` names the value in
// errors (e.g. "FILES entry `a=/b`: OWNER").
std::pair<std::uint32_t, std::uint32_t> parse_owner(std::string_view text, const std::string& what);
// Octal permission bits: 1 to 4 octal digits after an optional leading 0 (0750, 4755, 1777), at most 07777.
std::uint32_t parse_mode(std::string_view text, const std::string& what);
// Capability names separated by commas, as `setcap` and `docker --cap-add` write them
// (cap_net_bind_service, NET_BIND_SERVICE); each one the kernel knows, none twice.
std::uint64_t parse_capabilities(std::string_view text, const std::string& what);

// The three texts of the module's spec at once; an empty text leaves its part unset.
Permissions parse_permissions(std::string_view owner, std::string_view mode, std::string_view capabilities,
                              const std::string& what);

enum class PathKind { file, directory, symlink };
// Refuses what no kernel gives meaning to, or what would open a hole: bits on a symbolic link;
// setuid on a directory; sticky on a file; setuid or setgid on a file nobody may execute, or that
// anyone may write; capabilities on a directory or on a file nobody may execute.
void check_permissions(const Permissions& p, PathKind kind, const std::string& what);

// The security.capability extended attribute's value for `capabilities` permitted and effective
// (`setcap <caps>+ep`): struct vfs_cap_data, revision 2, little-endian, 20 bytes.
std::string capability_xattr(std::uint64_t capabilities);
// "cap_net_bind_service,cap_net_raw", in bit order.
std::string capability_names(std::uint64_t capabilities);
// "0750".
std::string mode_text(std::uint32_t mode);

}  // namespace mai

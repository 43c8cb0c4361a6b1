#include "model/permissions.hpp"

#include <algorithm>
#include <array>

#include "base/error.hpp"
#include "base/text.hpp"

namespace mai {
namespace {

// Linux's capabilities by number (include/uapi/linux/capability.h, 6.x).
constexpr std::array<const char*, 41> kCapabilities{"chown",
                                                    "dac_override",
                                                    "dac_read_search",
                                                    "fowner",
                                                    "fsetid",
                                                    "kill",
                                                    "setgid",
                                                    "setuid",
                                                    "setpcap",
                                                    "linux_immutable",
                                                    "net_bind_service",
                                                    "net_broadcast",
                                                    "net_admin",
                                                    "net_raw",
                                                    "ipc_lock",
                                                    "ipc_owner",
                                                    "sys_module",
                                                    "sys_rawio",
                                                    "sys_chroot",
                                                    "sys_ptrace",
                                                    "sys_pacct",
                                                    "sys_admin",
                                                    "sys_boot",
                                                    "sys_nice",
                                                    "sys_resource",
                                                    "sys_time",
                                                    "sys_tty_config",
                                                    "mknod",
                                                    "lease",
                                                    "audit_write",
                                                    "audit_control",
                                                    "setfcap",
                                                    "mac_override",
                                                    "mac_admin",
                                                    "syslog",
                                                    "wake_alarm",
                                                    "block_suspend",
                                                    "audit_read",
                                                    "perfmon",
                                                    "bpf",
                                                    "checkpoint_restore"};

constexpr std::uint32_t kLargestId = 4294967294U;  // (uid_t)-1 means "no change" to chown

std::optional<std::uint32_t> id_of(std::string_view text) {
  if (text.empty() || text.size() > 10) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (value > kLargestId) return std::nullopt;
  return static_cast<std::uint32_t>(value);
}

}  // namespace

std::optional<std::uint32_t> essential_account(std::string_view name) {
  if (name == "root") return 0;
  if (name == "nonroot") return 65532;
  if (name == "nobody") return 65534;
  return std::nullopt;
}

std::pair<std::uint32_t, std::uint32_t> parse_owner(std::string_view text, const std::string& what) {
  const auto colon = text.find(':');
  const auto user = text.substr(0, colon);
  const auto group = colon == std::string_view::npos ? user : text.substr(colon + 1);
  const auto one = [&](std::string_view part) {
    if (const auto id = id_of(part)) return *id;
    if (const auto id = essential_account(part)) return *id;
    throw Error(Exit::invalid_input, what + " `" + std::string(text) +
                                         "` is not <user>[:<group>] (valid: numeric ids from 0 to 4294967294, or root, "
                                         "nonroot, nobody; e.g. 65532:65532 or nonroot)");
  };
  return {one(user), one(group)};
}

std::uint32_t parse_mode(std::string_view text, const std::string& what) {
  auto digits = text;
  if (digits.size() > 1 && digits.front() == '0') digits.remove_prefix(1);
  std::uint32_t mode = 0;
  const bool octal = !digits.empty() && digits.size() <= 4 &&
                     std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '7'; });
  if (!octal)
    throw Error(Exit::invalid_input, what + " `" + std::string(text) +
                                         "` is not an octal mode from 0000 to 7777 (valid: e.g. 0644, 0750, 4755 for setuid, "
                                         "1777 for a sticky directory)");
  for (char c : digits) mode = mode * 8 + static_cast<std::uint32_t>(c - '0');
  return mode;
}

std::uint64_t parse_capabilities(std::string_view text, const std::string& what) {
  std::uint64_t mask = 0;
  auto pieces = split(text, ',');
  if (text.empty() || text.back() == ',') pieces.emplace_back();  // an empty name is refused below
  for (const auto& given : pieces) {
    auto name = lowercase(trim(given));
    if (name.starts_with("cap_")) name.erase(0, 4);
    std::size_t bit = 0;
    while (bit < kCapabilities.size() && name != kCapabilities[bit]) ++bit;
    if (name.empty() || bit == kCapabilities.size())
      throw Error(Exit::invalid_input, what + " `" + trim(given) +
                                           "` is not a Linux capability (valid: names such as cap_net_bind_service, "
                                           "cap_net_raw, cap_sys_nice, separated by commas)");
    if (mask & (std::uint64_t{1} << bit)) throw Error(Exit::invalid_input, what + " names cap_" + kCapabilities[bit] + " twice");
    mask |= std::uint64_t{1} << bit;
  }
  return mask;
}

Permissions parse_permissions(std::string_view owner, std::string_view mode, std::string_view capabilities,
                              const std::string& what) {
  Permissions p;
  if (!owner.empty()) {
    const auto [uid, gid] = parse_owner(owner, what + ": OWNER");
    p.uid = uid;
    p.gid = gid;
  }
  if (!mode.empty()) p.mode = parse_mode(mode, what + ": MODE");
  if (!capabilities.empty()) p.capabilities = parse_capabilities(capabilities, what + ": CAPABILITIES");
  return p;
}

void check_permissions(const Permissions& p, PathKind kind, const std::string& what) {
  const auto refuse = [&](const std::string& why) { throw Error(Exit::invalid_input, what + ": " + why); };
  if (kind == PathKind::symlink && (p.mode || p.capabilities))
    refuse("a symbolic link has no mode or capabilities of its own (give them to what it points to)");
  if (p.capabilities && kind == PathKind::directory) refuse("capabilities are given to programs; a directory cannot have them");
  if (!p.mode) return;
  const auto mode = *p.mode;
  const auto text = mode_text(mode);
  if (kind == PathKind::directory && (mode & 04000))
    refuse("MODE " + text + " sets setuid on a directory, which has no meaning there (setgid 2xxx and sticky 1xxx do)");
  if (kind != PathKind::file) return;
  if (mode & 01000) refuse("MODE " + text + " sets the sticky bit on a file, which Linux ignores (it is for directories)");
  const bool executable = (mode & 0111) != 0;
  if ((mode & 04000) && !(mode & 0100))
    refuse("MODE " + text + " sets setuid on a file its owner may not execute (add the owner's x: e.g. 4755)");
  if ((mode & 02000) && !(mode & 0010))
    refuse("MODE " + text + " sets setgid on a file its group may not execute (without it Linux reads it as mandatory locking)");
  if ((mode & 06000) && (mode & 0022))
    refuse("MODE " + text +
           " makes a setuid or setgid program writable by others than its owner: anyone could replace what it runs");
  if (p.capabilities && !executable)
    refuse("capabilities " + capability_names(p.capabilities) + " on a file nobody may execute (MODE " + text +
           "): give it an execute bit");
}

std::string capability_xattr(std::uint64_t capabilities) {
  std::string out(20, '\0');
  const auto put = [&](std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out[at + static_cast<std::size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xff);
  };
  constexpr std::uint32_t kRevision2 = 0x02000000, kEffective = 0x000001;
  put(0, kRevision2 | kEffective);
  put(4, static_cast<std::uint32_t>(capabilities & 0xffffffffU));  // permitted, low word
  put(8, 0);                                                       // inheritable, low word
  put(12, static_cast<std::uint32_t>(capabilities >> 32));         // permitted, high word
  put(16, 0);                                                      // inheritable, high word
  return out;
}

std::string capability_names(std::uint64_t capabilities) {
  std::string out;
  for (std::size_t bit = 0; bit < kCapabilities.size(); ++bit)
    if (capabilities & (std::uint64_t{1} << bit)) out += (out.empty() ? "cap_" : ",cap_") + std::string(kCapabilities[bit]);
  return out;
}

std::string mode_text(std::uint32_t mode) {
  std::string out(4, '0');
  for (int i = 3; i >= 0; --i, mode >>= 3) out[static_cast<std::size_t>(i)] = static_cast<char>('0' + (mode & 7));
  return out;
}

}  // namespace mai

// The stage step's record of what it staged: each regular file with its kind, SHA-256 and ELF
// edges, and for the C/C++ runtime the package that ships it. Written beside the stage's stamp; the
// push step reads it to write the SBOM.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "oci/platform.hpp"
#include "stage/packages.hpp"

namespace mai {

// One regular file a stage step put in the image.
struct StagedFile {
  std::string path;                 // in the image, absolute: /usr/local/bin/hello
  std::string kind;                 // program, library (the project's), runtime (the toolchain's), file, essentials
  std::string sha256;               // sha256:<hex> of the bytes staged
  std::string soname;               // DT_SONAME; "" none
  std::vector<std::string> needed;  // DT_NEEDED, in order
  std::string interpreter;          // PT_INTERP; "" none
  std::string source;               // runtime, essentials: the build machine's file it was copied from
  std::optional<Package> package;   // runtime, essentials: the package that ships `source`, when the machine says
};

// Where the stage step of `platform` records its files: beside its stamp in the image's state directory.
inline std::filesystem::path staged_files_path(const std::filesystem::path& state, const Platform& platform) {
  return state / ("stage-" + platform.target_suffix() + ".files.json");
}
// Where the build step of an assembled image records ESSENTIALS' files (kind "essentials"; the CA bundle
// and the time zone database with the package that ships them), in the same form.
inline std::filesystem::path essentials_files_path(const std::filesystem::path& state, const Platform& platform) {
  return state / ("essentials-" + platform.target_suffix() + ".files.json");
}
// Written only when the content changes. Read: empty when the file is missing (no stage).
void write_staged_files(const std::filesystem::path& path, const std::vector<StagedFile>& files);
std::vector<StagedFile> read_staged_files(const std::filesystem::path& path);

}  // namespace mai

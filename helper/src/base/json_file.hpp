// JSON files: parsed with the file named in errors, written atomically (see files.hpp).
#pragma once

#include <boost/json.hpp>
#include <filesystem>

namespace mai {

boost::json::value read_json_file(const std::filesystem::path& path);  // throws Error(invalid_input) with the parse error
void write_json_atomically(const std::filesystem::path& path, const boost::json::value& value);

}  // namespace mai

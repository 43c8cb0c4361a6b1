// Reading JSON files and writing them atomically (temporary file + rename), so a reader never sees
// half a record and a crash never leaves one claiming success.
#pragma once

#include <boost/json.hpp>
#include <filesystem>
#include <string>

namespace mai {

std::string read_text_file(const std::filesystem::path& path);  // throws Error(invalid_input) if unreadable
boost::json::value read_json_file(const std::filesystem::path& path);  // throws Error(invalid_input) with the parse error
void write_file_atomically(const std::filesystem::path& path, const std::string& content);
void write_json_atomically(const std::filesystem::path& path, const boost::json::value& value);

}  // namespace mai

// JSON files: parsed with the file named in errors, written atomically (see files.hpp); and the one
// reading of a member every reader of untrusted JSON shares.
#pragma once

#include <boost/json.hpp>
#include <filesystem>
#include <string>

namespace mai {

boost::json::value read_json_file(const std::filesystem::path& path);  // throws Error(invalid_input) with the parse error
void write_json_atomically(const std::filesystem::path& path, const boost::json::value& value);

// The member `key` of `o` as text; empty when it is absent or not a string.
std::string string_member(const boost::json::object& o, const char* key);

}  // namespace mai

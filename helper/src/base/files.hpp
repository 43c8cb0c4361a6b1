// Whole files read and written: reads are byte-exact; writes go to a temporary file and are renamed
// into place, so a reader never sees half a file and a crash never leaves one claiming success.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace mai {

std::string read_text_file(const std::filesystem::path& path);  // the bytes; Error(invalid_input) if unreadable
void write_file_atomically(const std::filesystem::path& path, const std::string& content);
// A name in `dir` no other call of this process and no other process gives: `prefix`, the process id
// and a counter. For a temporary file renamed into place once written.
std::filesystem::path temporary_name_in(const std::filesystem::path& dir, std::string_view prefix);

}  // namespace mai

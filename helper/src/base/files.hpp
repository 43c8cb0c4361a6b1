// Whole files read and written: reads are byte-exact; writes go to a temporary file and are renamed
// into place, so a reader never sees half a file and a crash never leaves one claiming success.
#pragma once

#include <filesystem>
#include <string>

namespace mai {

std::string read_text_file(const std::filesystem::path& path);  // the bytes; Error(invalid_input) if unreadable
void write_file_atomically(const std::filesystem::path& path, const std::string& content);

}  // namespace mai

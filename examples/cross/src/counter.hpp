// A word counter for hello_server's input: a second source file of the program.
#pragma once

#include <cstddef>
#include <string>

std::size_t count_words(const std::string& text);

// hello_server: the image's entrypoint. Greets through the shared library, then answers each line of
// stdin with its word count until stdin ends (a stand-in for a real service).
#include <iostream>
#include <string>

#include "counter.hpp"
#include "greeting.hpp"

int main() {
  std::cout << greeting::message("server") << std::endl;
  for (std::string line; std::getline(std::cin, line);) std::cout << count_words(line) << " words" << std::endl;
}

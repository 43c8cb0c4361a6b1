// A 429's Retry-After (delay-seconds or an HTTP date), as registry/rate_limit.hpp reads it. Input: the
// header's value. The time it is read at is fixed: Sun, 06 Nov 1994 08:49:37 GMT.
#include "fuzz_support.hpp"
#include "registry/rate_limit.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string value(reinterpret_cast<const char*>(data), size);
  const auto now = std::chrono::system_clock::from_time_t(784111777);
  mai::fuzz::only_mai_errors([&] {
    const auto wait = mai::retry_after(value, now);
    if (!wait) return;
    MAI_FUZZ_CHECK(wait->count() >= 0, "a negative wait");
    // A date read back as the same date: the wait is the same.
    const mai::HttpResponse answer{429, {{"retry-after", value}}, ""};
    const auto limited = mai::rate_limited(answer, now);
    MAI_FUZZ_CHECK(limited && limited->wait == *wait && !limited->limit.empty(), "a 429 read otherwise than its Retry-After");
  });
  return 0;
}

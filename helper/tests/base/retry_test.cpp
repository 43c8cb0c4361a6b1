#include "base/retry.hpp"

#include <boost/test/unit_test.hpp>
#include <utility>
#include <vector>

#include "registry/transport.hpp"

using namespace mai;

BOOST_AUTO_TEST_SUITE(retry)

BOOST_AUTO_TEST_CASE(the_delay_doubles_up_to_the_last_attempt) {
  Backoff backoff({4, std::chrono::milliseconds(1), std::chrono::seconds(0)});
  std::vector<std::pair<int, long>> announced;
  const auto note = [&](int next, int tries, std::chrono::milliseconds delay) {
    BOOST_TEST(tries == 4);
    announced.emplace_back(next, static_cast<long>(delay.count()));
  };
  int attempts = 1;
  while (backoff.wait_before_next(note)) ++attempts;
  BOOST_TEST(attempts == 4);
  BOOST_TEST(announced == (std::vector<std::pair<int, long>>{{2, 1}, {3, 2}, {4, 4}}));
  BOOST_TEST(!backoff.wait_before_next(note));  // spent: no more waiting
}

BOOST_AUTO_TEST_CASE(one_try_never_waits) {
  Backoff backoff({1, std::chrono::seconds(30), std::chrono::seconds(0)});
  BOOST_TEST(!backoff.wait_before_next([](int, int, std::chrono::milliseconds) { BOOST_FAIL("announced"); }));
}

BOOST_AUTO_TEST_CASE(what_is_worth_another_attempt) {
  using K = TransportError::Kind;
  for (auto k : {K::connect, K::timeout, K::io}) BOOST_TEST(transient(TransportError{k, ""}));
  for (auto k : {K::unknown_host, K::tls_not_spoken, K::tls_verify, K::tls_failed, K::too_large})
    BOOST_TEST(!transient(TransportError{k, ""}));
  for (int status : {500, 502, 503, 504, 429}) BOOST_TEST(transient(status));
  for (int status : {200, 301, 400, 401, 403, 404, 413}) BOOST_TEST(!transient(status));
}

BOOST_AUTO_TEST_SUITE_END()

// The Store contract: behaviour every backend must have. A backend's test file
// instantiates the suite with a factory (see rocksdb_store_test.cc):
//   INSTANTIATE_TEST_SUITE_P(MyBackend, StoreContractTest,
//   ::testing::Values(MyFactory()));
#ifndef SAGAFLOW_TESTS_PERSISTENCE_STORE_CONTRACT_H_
#define SAGAFLOW_TESTS_PERSISTENCE_STORE_CONTRACT_H_

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>

#include "persistence/store.h"

namespace sagaflow::persistence {

struct StoreFactory {
  std::string name;
  // Opens the store kept in `dir`; called again on the same dir to test
  // reopening.
  std::function<std::unique_ptr<Store>(const std::string& dir)> open;
};

inline std::string PrintToString(const StoreFactory& f) { return f.name; }

class StoreContractTest : public ::testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override;
  void TearDown() override;
  void Reopen();

  std::string dir_;
  std::unique_ptr<Store> store_;
};

}  // namespace sagaflow::persistence

#endif  // SAGAFLOW_TESTS_PERSISTENCE_STORE_CONTRACT_H_

// Every shipped sample definition compiles, and the contract's own example
// compiles to what its text says.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "dsl/compiler.h"

namespace sagaflow::dsl {
namespace {

namespace fs = std::filesystem;

fs::path SamplesDir() { return fs::path(SAGAFLOW_TEST_SOURCE_DIR) / "samples"; }

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::vector<fs::path> SampleFiles() {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(SamplesDir(), ec)) {
    if (entry.is_regular_file() && entry.path().extension() == ".json") {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::shared_ptr<const Plan> CompileSample(const std::string& file) {
  const fs::path path = SamplesDir() / file;
  if (!fs::exists(path)) {
    ADD_FAILURE() << path << " does not exist";
    return nullptr;
  }
  CompileResult result = CompileDefinition(ReadFile(path));
  if (!result.ok()) {
    ADD_FAILURE() << path << ":\n" << FormatErrors(result.error());
    return nullptr;
  }
  return result.value();
}

TEST(SamplesTest, EverySampleCompiles) {
  const std::vector<fs::path> files = SampleFiles();
  ASSERT_FALSE(files.empty()) << "no *.json in " << SamplesDir() << "";
  for (const fs::path& file : files) {
    SCOPED_TRACE(file.string());
    const std::string text = ReadFile(file);
    ASSERT_FALSE(text.empty()) << file;
    CompileResult result = CompileDefinition(text);
    EXPECT_TRUE(result.ok())
        << file << ":\n"
        << (result.ok() ? std::string() : FormatErrors(result.error()));
    if (result.ok()) {
      // The file is named after the workflow it defines.
      EXPECT_EQ(result.value()->name(), file.stem().string());
      EXPECT_NE(result.value()->start(), kNoStep);
    }
  }
}

TEST(SamplesTest, OrderFulfillmentShape) {
  auto plan = CompileSample("order_fulfillment.json");
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->name(), "order_fulfillment");
  EXPECT_EQ(plan->steps().size(), 6u);
  ASSERT_TRUE(plan->FindStep("reserve").has_value());
  EXPECT_EQ(plan->start(), *plan->FindStep("reserve"));
  EXPECT_EQ(plan->on_failure(), OnFailure::kCompensate);
  EXPECT_EQ(plan->run_timeout(),
            std::optional<Duration>(std::chrono::hours(1)));
}

TEST(SamplesTest, OrderFulfillmentChargeCatchesCardDeclined) {
  auto plan = CompileSample("order_fulfillment.json");
  ASSERT_TRUE(plan);
  auto charge = plan->FindStep("charge");
  auto notify = plan->FindStep("notify_declined");
  ASSERT_TRUE(charge && notify);
  const CatchRule* rule = plan->step(*charge).FindCatch("CardDeclined");
  ASSERT_NE(rule, nullptr);
  EXPECT_EQ(rule->next, *notify);
  EXPECT_EQ(plan->step(*charge).FindCatch("SomethingElse"), nullptr);
  EXPECT_EQ(plan->step(*charge).next, *plan->FindStep("ship"));
}

TEST(SamplesTest, OrderFulfillmentReserve) {
  auto plan = CompileSample("order_fulfillment.json");
  ASSERT_TRUE(plan);
  auto reserve = plan->FindStep("reserve");
  ASSERT_TRUE(reserve);
  const TaskSpec& task = plan->step(*reserve).task();
  EXPECT_EQ(task.activity, "inventory.reserve");
  ASSERT_TRUE(task.compensate.has_value());
  EXPECT_EQ(task.compensate->activity, "inventory.release");
  EXPECT_EQ(task.retry.max_attempts, 5u);
  EXPECT_EQ(task.retry.non_retryable_errors,
            std::vector<std::string>{"OutOfStock"});
  EXPECT_FALSE(task.retry.IsRetryable("OutOfStock"));
  EXPECT_EQ(task.retry.initial_interval, std::chrono::milliseconds(200));
  EXPECT_EQ(task.retry.max_interval, std::chrono::seconds(10));
  EXPECT_EQ(task.timeout, std::optional<Duration>(std::chrono::seconds(10)));
  EXPECT_EQ(task.heartbeat_timeout,
            std::optional<Duration>(std::chrono::seconds(5)));
  // Steps without their own settings take the definition's defaults.
  const TaskSpec& ship = plan->step(*plan->FindStep("ship")).task();
  EXPECT_EQ(ship.timeout, std::optional<Duration>(std::chrono::seconds(30)));
  EXPECT_EQ(ship.retry.max_attempts, 3u);
}

}  // namespace
}  // namespace sagaflow::dsl

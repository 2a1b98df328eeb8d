// The engine end to end on a real store: the basic paths of every step type.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/engine/engine_harness.h"

namespace sagaflow::engine::testing {
namespace {

using storage::RUN_STATUS_COMPENSATED;
using storage::RUN_STATUS_COMPLETED;
using ::testing::ElementsAre;

TEST_F(EngineTest, ThreeTasksComplete) {
  Open();
  Register(R"({"name": "three", "start_at": "a", "steps": {
    "a": {"type": "task", "activity": "test.record", "next": "b"},
    "b": {"type": "task", "activity": "builtin.echo",
          "input": {"x": "$.steps.a.output.step"}, "next": "c"},
    "c": {"type": "task", "activity": "test.record"}}})");
  const std::string id = Start("three");
  auto run = Await(id);
  EXPECT_EQ(run.status(), RUN_STATUS_COMPLETED);
  EXPECT_EQ(run.output_json(), R"({"attempt":1,"step":"c"})");
  EXPECT_THAT(journal_.Steps(id), ElementsAre("a", "c"));
  auto history = History(id);
  for (size_t i = 0; i < history.size(); ++i)
    EXPECT_EQ(history[i].seq(), i + 1);
  EXPECT_EQ(EventTypes(id).front(), "RUN_STARTED");
  EXPECT_EQ(EventTypes(id).back(), "RUN_COMPLETED");
}

TEST_F(EngineTest, SagaCompensatesInReverse) {
  Open();
  Register(R"({"name": "saga", "start_at": "a", "steps": {
    "a": {"type": "task", "activity": "test.record", "next": "b",
          "compensate": {"activity": "test.record"}},
    "b": {"type": "task", "activity": "test.record", "next": "c",
          "compensate": {"activity": "test.record"}},
    "c": {"type": "task", "activity": "test.record",
          "input": {"error": "Boom"}, "retry": {"max_attempts": 2, "initial_interval": "1ms"},
          "compensate": {"activity": "test.record"}}}})");
  const std::string id = Start("saga");
  auto run = Await(id);
  EXPECT_EQ(run.status(), RUN_STATUS_COMPENSATED);
  EXPECT_EQ(run.error(), "Boom");
  EXPECT_THAT(journal_.Steps(id), ElementsAre("a", "b", "c", "c", "~b", "~a"));
}

}  // namespace
}  // namespace sagaflow::engine::testing

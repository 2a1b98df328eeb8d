#include "tests/persistence/store_contract.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "tests/persistence/test_util.h"

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(StoreContractTest);

namespace sagaflow::persistence {

using testing::CreateRun;
using testing::Event;
using testing::UpdateRun;

void StoreContractTest::SetUp() {
  dir_ = testing::MakeTempDir("contract");
  store_ = GetParam().open(dir_);
  ASSERT_NE(store_, nullptr);
}

void StoreContractTest::TearDown() {
  store_.reset();
  testing::RemoveDir(dir_);
}

void StoreContractTest::Reopen() {
  store_.reset();
  store_ = GetParam().open(dir_);
  ASSERT_NE(store_, nullptr);
}

namespace {

WorkflowRecord Definition(const std::string& name, const std::string& hash) {
  WorkflowRecord w;
  w.set_name(name);
  w.set_definition_json("{\"name\":\"" + name + "\",\"hash\":\"" + hash +
                        "\"}");
  w.set_content_hash(hash);
  return w;
}

// Holds the store's commit thread inside a commit callback until Release(), so
// that everything queued meanwhile is committed as one group. The callback
// shares ownership of the latch's state: it may still be leaving its wait when
// the latch itself is gone.
class CommitterLatch {
 public:
  CommitterLatch(Store* store, const std::string& run_id)
      : state_(std::make_shared<State>()) {
    store->CommitAsync(CreateRun(run_id, "latch", 1),
                       [state = state_](Result<Committed>) {
                         std::unique_lock<std::mutex> lock(state->mu);
                         state->entered = true;
                         state->cv.notify_all();
                         state->cv.wait(lock, [&] { return state->released; });
                       });
    std::unique_lock<std::mutex> lock(state_->mu);
    state_->cv.wait(lock, [&] { return state_->entered; });
  }
  ~CommitterLatch() { Release(); }
  void Release() {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->released = true;
    state_->cv.notify_all();
  }

 private:
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    bool entered = false;
    bool released = false;
  };
  std::shared_ptr<State> state_;
};

// Collects asynchronous outcomes and waits for them.
class Outcomes {
 public:
  CommitCallback Slot(size_t i) {
    std::lock_guard<std::mutex> lock(mu_);
    if (codes_.size() <= i) codes_.resize(i + 1, StatusCode::kInternal);
    ++pending_;
    return [this, i](Result<Committed> r) {
      std::lock_guard<std::mutex> lock(mu_);
      codes_[i] = r.status().code();
      --pending_;
      cv_.notify_all();
    };
  }
  std::vector<StatusCode> Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return pending_ == 0; });
    return codes_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<StatusCode> codes_;
  int pending_ = 0;
};

std::vector<std::string> Ids(const std::vector<RunRecord>& runs) {
  std::vector<std::string> ids;
  for (const auto& r : runs) ids.push_back(r.run_id());
  return ids;
}

// --- Workflows.

TEST_P(StoreContractTest,
       RegisterAssignsVersionsAndDeduplicatesIdenticalDefinitions) {
  auto v1 = store_->RegisterWorkflow(Definition("order", "h1"));
  ASSERT_TRUE(v1.ok()) << v1.status().ToString();
  EXPECT_EQ(v1->version, 1u);
  EXPECT_TRUE(v1->created);
  auto again = store_->RegisterWorkflow(Definition("order", "h1"));
  EXPECT_EQ(again->version, 1u);
  EXPECT_FALSE(again->created);
  auto v2 = store_->RegisterWorkflow(Definition("order", "h2"));
  EXPECT_EQ(v2->version, 2u);
  EXPECT_TRUE(v2->created);
  // Going back to the first definition finds version 1 rather than minting a
  // third.
  EXPECT_EQ(store_->RegisterWorkflow(Definition("order", "h1"))->version, 1u);
  EXPECT_EQ(store_->RegisterWorkflow(Definition("other", "h1"))->version, 1u);
}

TEST_P(StoreContractTest, GetWorkflowByVersionOrLatest) {
  ASSERT_TRUE(store_->RegisterWorkflow(Definition("order", "h1")).ok());
  ASSERT_TRUE(store_->RegisterWorkflow(Definition("order", "h2")).ok());
  auto latest = store_->GetWorkflow("order", 0);
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(latest->version(), 2u);
  EXPECT_EQ(latest->content_hash(), "h2");
  EXPECT_GT(latest->created_at_ms(), 0);
  EXPECT_EQ(store_->GetWorkflow("order", 1)->content_hash(), "h1");
  EXPECT_EQ(store_->GetWorkflow("order", 3).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(store_->GetWorkflow("nope", 0).status().code(),
            StatusCode::kNotFound);
  // A name that is a prefix of another is a different workflow.
  ASSERT_TRUE(store_->RegisterWorkflow(Definition("order2", "x")).ok());
  EXPECT_EQ(store_->GetWorkflow("order", 0)->version(), 2u);
}

TEST_P(StoreContractTest, ListWorkflowsShowsLatestVersionOfEachAndPages) {
  for (const char* name : {"b", "a", "c", "d"}) {
    ASSERT_TRUE(store_->RegisterWorkflow(Definition(name, "1")).ok());
  }
  ASSERT_TRUE(store_->RegisterWorkflow(Definition("b", "2")).ok());
  std::vector<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    auto page = store_->ListWorkflows(3, token);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    for (const auto& w : page->items) {
      seen.push_back(w.name() + "@" + std::to_string(w.version()));
    }
    token = page->next_page_token;
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(seen, (std::vector<std::string>{"a@1", "b@2", "c@1", "d@1"}));
  EXPECT_EQ(pages, 2);
  EXPECT_EQ(store_->ListWorkflows(3, "zz-not-hex").status().code(),
            StatusCode::kInvalidArgument);
}

// --- Transitions.

TEST_P(StoreContractTest, CreateRunSetsStoreFields) {
  auto committed = store_->Commit(CreateRun("r1", "order", 1000, 2));
  ASSERT_TRUE(committed.ok()) << committed.status().ToString();
  EXPECT_EQ(committed->version, 1u);
  EXPECT_EQ(committed->last_event_seq, 2u);
  auto run = store_->GetRun("r1");
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->workflow(), "order");
  EXPECT_EQ(run->version(), 1u);
  EXPECT_EQ(run->run_no(), committed->run_no);
  EXPECT_EQ(run->last_event_seq(), 2u);
  EXPECT_EQ(run->status(), storage::RUN_STATUS_RUNNING);
  EXPECT_EQ(run->input_json(), "{\"order\":1}");
  EXPECT_EQ(store_->GetRun("r2").status().code(), StatusCode::kNotFound);
}

TEST_P(StoreContractTest, CreatingAnExistingRunIsRejectedAndChangesNothing) {
  ASSERT_TRUE(store_->Commit(CreateRun("r1", "order", 1000)).ok());
  Transition again = CreateRun("r1", "other", 2000, 3);
  again.put_tasks.emplace_back().set_task_id("t-sneaky");
  auto r = store_->Commit(std::move(again));
  EXPECT_EQ(r.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(store_->GetRun("r1")->workflow(), "order");
  EXPECT_EQ(store_->ReadHistory("r1", 0, 0)->size(), 1u);
  int tasks = 0;
  ASSERT_TRUE(
      store_->ScanTasks([&](const TaskRecord&) { return ++tasks, true; }).ok());
  EXPECT_EQ(tasks, 0);
}

TEST_P(StoreContractTest, UpdateOfMissingRunIsNotFound) {
  EXPECT_EQ(store_->Commit(UpdateRun("ghost", storage::RUN_STATUS_RUNNING, 0))
                .status()
                .code(),
            StatusCode::kNotFound);
}

TEST_P(StoreContractTest, UpdatesKeepCreationFieldsAndBumpVersion) {
  ASSERT_TRUE(store_->Commit(CreateRun("r1", "order", 1000)).ok());
  Transition t = UpdateRun("r1", storage::RUN_STATUS_COMPENSATING, 1, 2, 5000);
  t.run.set_workflow("tampered");
  t.run.set_created_at_ms(9);
  t.run.set_checkpoint(std::string("\x00\x01state", 7));
  auto c = store_->Commit(std::move(t));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->version, 2u);
  EXPECT_EQ(c->last_event_seq, 3u);
  auto run = store_->GetRun("r1");
  EXPECT_EQ(run->workflow(), "order");
  EXPECT_EQ(run->created_at_ms(), 1000);
  EXPECT_EQ(run->status(), storage::RUN_STATUS_COMPENSATING);
  EXPECT_EQ(run->checkpoint(), std::string("\x00\x01state", 7));
}

TEST_P(StoreContractTest, StaleExpectedVersionIsRejected) {
  ASSERT_TRUE(store_->Commit(CreateRun("r1", "order", 1000)).ok());
  Transition ok = UpdateRun("r1", storage::RUN_STATUS_RUNNING, 1);
  ok.expected_version = 1;
  ASSERT_TRUE(store_->Commit(std::move(ok)).ok());
  Transition stale = UpdateRun("r1", storage::RUN_STATUS_COMPLETED, 2);
  stale.expected_version = 1;
  auto r = store_->Commit(std::move(stale));
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("stale"), std::string::npos);
  EXPECT_EQ(store_->GetRun("r1")->status(), storage::RUN_STATUS_RUNNING);
  EXPECT_EQ(store_->ReadHistory("r1", 0, 0)->size(), 2u);
}

TEST_P(StoreContractTest, HistoryGapsAreRejected) {
  ASSERT_TRUE(store_->Commit(CreateRun("r1", "order", 1000)).ok());
  auto gap = store_->Commit(UpdateRun("r1", storage::RUN_STATUS_RUNNING, 5));
  EXPECT_EQ(gap.status().code(), StatusCode::kFailedPrecondition);
  Transition bad_create = CreateRun("r2", "order", 1000);
  bad_create.events[0].set_seq(2);
  EXPECT_EQ(store_->Commit(std::move(bad_create)).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->GetRun("r2").status().code(), StatusCode::kNotFound);
}

TEST_P(StoreContractTest, ReadHistoryAfterSeqWithLimit) {
  ASSERT_TRUE(store_->Commit(CreateRun("r1", "order", 1000, 5)).ok());
  ASSERT_TRUE(store_->Commit(CreateRun("r2", "order", 1000, 3)).ok());
  auto all = store_->ReadHistory("r1", 0, 0);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 5u);
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ((*all)[i].seq(), i + 1);
  auto tail = store_->ReadHistory("r1", 2, 2);
  ASSERT_EQ(tail->size(), 2u);
  EXPECT_EQ((*tail)[0].seq(), 3u);
  EXPECT_EQ((*tail)[1].seq(), 4u);
  EXPECT_TRUE(store_->ReadHistory("r1", 5, 0)->empty());
  EXPECT_EQ(store_->ReadHistory("r2", 0, 0)->size(), 3u);
  EXPECT_EQ(store_->ReadHistory("nope", 0, 0).status().code(),
            StatusCode::kNotFound);
}

TEST_P(StoreContractTest, TasksTimersLeasesAndSignalsChangeWithTransitions) {
  Transition create = CreateRun("r1", "order", 1000);
  create.put_tasks.emplace_back().set_task_id("t1");
  create.put_tasks.emplace_back().set_task_id("t2");
  for (int64_t due : {300, 100, 200}) {
    TimerRecord& timer = create.put_timers.emplace_back();
    timer.set_timer_id("timer-" + std::to_string(due));
    timer.set_run_id("r1");
    timer.set_due_at_ms(due);
  }
  LeaseRecord& lease = create.put_leases.emplace_back();
  lease.set_task_id("t1");
  lease.set_worker_id("w1");
  lease.set_expires_at_ms(5000);
  for (uint64_t seq : {7, 3}) {
    SignalRecord& s = create.put_signals.emplace_back();
    s.set_run_id("r1");
    s.set_seq(seq);
    s.set_name("approval");
    s.set_payload_json("{\"n\":" + std::to_string(seq) + "}");
  }
  ASSERT_TRUE(store_->Commit(std::move(create)).ok());

  std::vector<std::string> tasks, timers, leases;
  ASSERT_TRUE(store_
                  ->ScanTasks([&](const TaskRecord& t) {
                    return tasks.push_back(t.task_id()), true;
                  })
                  .ok());
  EXPECT_EQ(tasks, (std::vector<std::string>{"t1", "t2"}));
  ASSERT_TRUE(store_
                  ->ScanTimers(250,
                               [&](const TimerRecord& t) {
                                 timers.push_back(t.timer_id());
                                 return true;
                               })
                  .ok());
  EXPECT_EQ(timers, (std::vector<std::string>{"timer-100", "timer-200"}));
  ASSERT_TRUE(store_
                  ->ScanLeases([&](const LeaseRecord& l) {
                    return leases.push_back(l.worker_id()), true;
                  })
                  .ok());
  EXPECT_EQ(leases, (std::vector<std::string>{"w1"}));
  auto signals = store_->ReadSignals("r1");
  ASSERT_EQ(signals->size(), 2u);
  EXPECT_EQ((*signals)[0].seq(), 3u);
  EXPECT_EQ((*signals)[1].payload_json(), "{\"n\":7}");

  Transition next = UpdateRun("r1", storage::RUN_STATUS_RUNNING, 1);
  next.delete_tasks = {"t1"};
  next.delete_timers = {TimerKey{100, "timer-100"}};
  next.delete_leases = {"t1"};
  next.delete_signals = {3};
  ASSERT_TRUE(store_->Commit(std::move(next)).ok());
  tasks.clear();
  timers.clear();
  leases.clear();
  ASSERT_TRUE(store_
                  ->ScanTasks([&](const TaskRecord& t) {
                    return tasks.push_back(t.task_id()), true;
                  })
                  .ok());
  ASSERT_TRUE(store_
                  ->ScanTimers(INT64_MAX,
                               [&](const TimerRecord& t) {
                                 timers.push_back(t.timer_id());
                                 return true;
                               })
                  .ok());
  ASSERT_TRUE(store_
                  ->ScanLeases([&](const LeaseRecord& l) {
                    return leases.push_back(l.worker_id()), true;
                  })
                  .ok());
  EXPECT_EQ(tasks, (std::vector<std::string>{"t2"}));
  EXPECT_EQ(timers, (std::vector<std::string>{"timer-200", "timer-300"}));
  EXPECT_TRUE(leases.empty());
  EXPECT_EQ(store_->ReadSignals("r1")->size(), 1u);
}

TEST_P(StoreContractTest, ScanStopsWhenTheCallbackSaysSo) {
  Transition create = CreateRun("r1", "order", 1000);
  for (int i = 0; i < 5; ++i)
    create.put_tasks.emplace_back().set_task_id("t" + std::to_string(i));
  ASSERT_TRUE(store_->Commit(std::move(create)).ok());
  int seen = 0;
  ASSERT_TRUE(
      store_->ScanTasks([&](const TaskRecord&) { return ++seen < 2; }).ok());
  EXPECT_EQ(seen, 2);
}

// --- Indexes.

TEST_P(StoreContractTest, ScanRunsByStatusFollowsStatusChanges) {
  ASSERT_TRUE(store_->Commit(CreateRun("a", "order", 1000)).ok());
  ASSERT_TRUE(store_->Commit(CreateRun("b", "order", 2000)).ok());
  ASSERT_TRUE(
      store_->Commit(UpdateRun("a", storage::RUN_STATUS_COMPLETED, 1, 1, 3000))
          .ok());
  auto ids_with = [&](RunStatus status) {
    std::vector<std::string> ids;
    EXPECT_TRUE(store_
                    ->ScanRunsByStatus(status,
                                       [&](const RunRecord& r) {
                                         ids.push_back(r.run_id());
                                         return true;
                                       })
                    .ok());
    return ids;
  };
  EXPECT_EQ(ids_with(storage::RUN_STATUS_RUNNING),
            (std::vector<std::string>{"b"}));
  EXPECT_EQ(ids_with(storage::RUN_STATUS_COMPLETED),
            (std::vector<std::string>{"a"}));
  EXPECT_TRUE(ids_with(storage::RUN_STATUS_FAILED).empty());
}

TEST_P(StoreContractTest, ListRunsNewestFirstWithFiltersAndPaging) {
  // r0..r9, created in order; even ones are "order", odd ones "trip"; r3 and r4
  // complete.
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(store_
                    ->Commit(CreateRun("r" + std::to_string(i),
                                       i % 2 ? "trip" : "order", 1000 + i))
                    .ok());
  }
  for (const char* id : {"r3", "r4"}) {
    ASSERT_TRUE(
        store_->Commit(UpdateRun(id, storage::RUN_STATUS_COMPLETED, 1, 1, 5000))
            .ok());
  }
  auto list = [&](RunFilter filter, size_t page_size) {
    std::vector<std::string> ids;
    std::string token;
    for (int pages = 0; pages < 20; ++pages) {
      auto page = store_->ListRuns(filter, page_size, token);
      EXPECT_TRUE(page.ok()) << page.status().ToString();
      if (!page.ok()) break;
      for (auto& id : Ids(page->items)) ids.push_back(id);
      token = page->next_page_token;
      if (token.empty()) break;
    }
    return ids;
  };
  EXPECT_EQ(list({}, 100),
            (std::vector<std::string>{"r9", "r8", "r7", "r6", "r5", "r4", "r3",
                                      "r2", "r1", "r0"}));
  EXPECT_EQ(list({}, 3), list({}, 100));
  EXPECT_EQ(list({"trip", std::nullopt}, 2),
            (std::vector<std::string>{"r9", "r7", "r5", "r3", "r1"}));
  EXPECT_EQ(list({"", storage::RUN_STATUS_COMPLETED}, 1),
            (std::vector<std::string>{"r4", "r3"}));
  EXPECT_EQ(list({"trip", storage::RUN_STATUS_COMPLETED}, 10),
            (std::vector<std::string>{"r3"}));
  EXPECT_TRUE(list({"nope", std::nullopt}, 10).empty());

  auto first = store_->ListRuns({}, 4, "");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->items.size(), 4u);
  EXPECT_FALSE(first->next_page_token.empty());
  EXPECT_EQ(store_->ListRuns({}, 4, "xyz").status().code(),
            StatusCode::kInvalidArgument);
  // A token from one listing is refused by another.
  EXPECT_EQ(store_->ListRuns({"trip", std::nullopt}, 4, first->next_page_token)
                .status()
                .code(),
            StatusCode::kInvalidArgument);
}

// --- Retention.

TEST_P(StoreContractTest, PurgeDeletesOldEndedRunsWithEverything) {
  ASSERT_TRUE(store_->Commit(CreateRun("old", "order", 1000, 3)).ok());
  ASSERT_TRUE(store_->Commit(CreateRun("new", "order", 1000)).ok());
  ASSERT_TRUE(store_->Commit(CreateRun("active", "order", 1000)).ok());
  ASSERT_TRUE(store_->Commit(CreateRun("waiting", "order", 1000)).ok());
  Transition end_old =
      UpdateRun("old", storage::RUN_STATUS_COMPENSATED, 3, 1, 2000);
  SignalRecord& s = end_old.put_signals.emplace_back();
  s.set_run_id("old");
  s.set_seq(1);
  ASSERT_TRUE(store_->Commit(std::move(end_old)).ok());
  ASSERT_TRUE(
      store_
          ->Commit(UpdateRun("new", storage::RUN_STATUS_COMPLETED, 1, 1, 9000))
          .ok());
  ASSERT_TRUE(
      store_
          ->Commit(UpdateRun("waiting", storage::RUN_STATUS_COMPENSATION_FAILED,
                             1, 1, 2000))
          .ok());

  auto purged = store_->PurgeEndedRuns(5000, 100);
  ASSERT_TRUE(purged.ok()) << purged.status().ToString();
  EXPECT_EQ(*purged, 1u);
  EXPECT_EQ(store_->GetRun("old").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->ReadHistory("old", 0, 0).status().code(),
            StatusCode::kNotFound);
  EXPECT_TRUE(store_->GetRun("new").ok());
  EXPECT_TRUE(store_->GetRun("active").ok());
  EXPECT_TRUE(store_->GetRun("waiting").ok());
  auto listed = store_->ListRuns({}, 100, "");
  EXPECT_EQ(Ids(listed->items).size(), 3u);
  int compensated = 0;
  ASSERT_TRUE(store_
                  ->ScanRunsByStatus(
                      storage::RUN_STATUS_COMPENSATED,
                      [&](const RunRecord&) { return ++compensated, true; })
                  .ok());
  EXPECT_EQ(compensated, 0);
  // The run id is free again, and a new run under it starts a fresh history.
  ASSERT_TRUE(store_->Commit(CreateRun("old", "order", 7000)).ok());
  EXPECT_EQ(store_->ReadHistory("old", 0, 0)->size(), 1u);
  EXPECT_TRUE(store_->ReadSignals("old")->empty());
  // ... and is listed once.
  EXPECT_EQ(Ids(store_->ListRuns({}, 100, "")->items).size(), 4u);
  EXPECT_EQ(
      Ids(store_->ListRuns({"order", std::nullopt}, 100, "")->items).size(),
      4u);
}

TEST_P(StoreContractTest, PurgeRespectsTheLimitAndKeepsResumedRuns) {
  for (int i = 0; i < 5; ++i) {
    const std::string id = "r" + std::to_string(i);
    ASSERT_TRUE(store_->Commit(CreateRun(id, "order", 1000)).ok());
    ASSERT_TRUE(
        store_
            ->Commit(UpdateRun(id, storage::RUN_STATUS_FAILED, 1, 1, 2000 + i))
            .ok());
  }
  // r0 is resumed: no longer ended, so not purged.
  ASSERT_TRUE(
      store_->Commit(UpdateRun("r0", storage::RUN_STATUS_RUNNING, 2, 1, 3000))
          .ok());
  EXPECT_EQ(*store_->PurgeEndedRuns(10'000, 2), 2u);
  EXPECT_EQ(*store_->PurgeEndedRuns(10'000, 100), 2u);
  EXPECT_EQ(*store_->PurgeEndedRuns(10'000, 100), 0u);
  EXPECT_TRUE(store_->GetRun("r0").ok());
}

// --- Durability across reopen and concurrency.

TEST_P(StoreContractTest, EverythingSurvivesReopenAndRunNumbersAreNotReused) {
  ASSERT_TRUE(store_->RegisterWorkflow(Definition("order", "h1")).ok());
  auto first = store_->Commit(CreateRun("r1", "order", 1000, 4));
  ASSERT_TRUE(first.ok());
  Transition t = UpdateRun("r1", storage::RUN_STATUS_RUNNING, 4);
  t.put_tasks.emplace_back().set_task_id("t1");
  ASSERT_TRUE(store_->Commit(std::move(t)).ok());
  Reopen();
  EXPECT_EQ(store_->GetWorkflow("order", 0)->version(), 1u);
  EXPECT_EQ(store_->GetRun("r1")->version(), 2u);
  EXPECT_EQ(store_->ReadHistory("r1", 0, 0)->size(), 5u);
  int tasks = 0;
  ASSERT_TRUE(
      store_->ScanTasks([&](const TaskRecord&) { return ++tasks, true; }).ok());
  EXPECT_EQ(tasks, 1);
  auto second = store_->Commit(CreateRun("r2", "order", 2000));
  ASSERT_TRUE(second.ok());
  EXPECT_NE(second->run_no, first->run_no);
  EXPECT_EQ(store_->ReadHistory("r2", 0, 0)->size(), 1u);
  // Updating a run after reopening checks against its stored state.
  EXPECT_EQ(store_->Commit(UpdateRun("r1", storage::RUN_STATUS_RUNNING, 4))
                .status()
                .code(),
            StatusCode::kFailedPrecondition);
  EXPECT_TRUE(
      store_->Commit(UpdateRun("r1", storage::RUN_STATUS_RUNNING, 5)).ok());
}

TEST_P(StoreContractTest, AsyncCommitsOfOneRunApplyInOrder) {
  ASSERT_TRUE(store_->Commit(CreateRun("r1", "order", 1000)).ok());
  constexpr int kCommits = 200;
  std::atomic<int> ok{0};
  std::atomic<int> done{0};
  for (int i = 0; i < kCommits; ++i) {
    store_->CommitAsync(UpdateRun("r1", storage::RUN_STATUS_RUNNING, 1 + i),
                        [&](Result<Committed> r) {
                          if (r.ok()) ++ok;
                          ++done;
                        });
  }
  // A synchronous commit queued last completes after all of the above.
  ASSERT_TRUE(
      store_->Commit(UpdateRun("r1", storage::RUN_STATUS_RUNNING, 1 + kCommits))
          .ok());
  EXPECT_EQ(done.load(), kCommits);
  EXPECT_EQ(ok.load(), kCommits);
  EXPECT_EQ(store_->GetRun("r1")->version(), kCommits + 2u);
  EXPECT_EQ(store_->ReadHistory("r1", 0, 0)->size(), kCommits + 2u);
}

TEST_P(StoreContractTest,
       ARejectedTransitionDoesNotDisturbOthersCommittedWithIt) {
  ASSERT_TRUE(store_->Commit(CreateRun("r1", "order", 1000)).ok());
  Outcomes outcomes;
  {
    CommitterLatch latch(store_.get(), "latch");
    store_->CommitAsync(UpdateRun("r1", storage::RUN_STATUS_RUNNING, 1),
                        outcomes.Slot(0));
    // Rejected (a history gap), and carrying writes that must not leak.
    Transition bad = UpdateRun("r1", storage::RUN_STATUS_COMPLETED, 7);
    bad.put_tasks.emplace_back().set_task_id("t-leak");
    bad.put_signals.emplace_back().set_seq(1);
    store_->CommitAsync(std::move(bad), outcomes.Slot(1));
    store_->CommitAsync(CreateRun("r2", "order", 1000), outcomes.Slot(2));
    store_->CommitAsync(UpdateRun("r1", storage::RUN_STATUS_RUNNING, 2),
                        outcomes.Slot(3));
  }
  EXPECT_EQ(
      outcomes.Wait(),
      (std::vector<StatusCode>{StatusCode::kOk, StatusCode::kFailedPrecondition,
                               StatusCode::kOk, StatusCode::kOk}));
  EXPECT_TRUE(store_->GetRun("r2").ok());
  EXPECT_EQ(store_->GetRun("r1")->version(), 3u);
  EXPECT_EQ(store_->GetRun("r1")->status(), storage::RUN_STATUS_RUNNING);
  int tasks = 0;
  ASSERT_TRUE(
      store_->ScanTasks([&](const TaskRecord&) { return ++tasks, true; }).ok());
  EXPECT_EQ(tasks, 0);
  EXPECT_TRUE(store_->ReadSignals("r1")->empty());
}

TEST_P(StoreContractTest, ResumeCommittedInTheSameGroupAsAPurgeKeepsTheRun) {
  ASSERT_TRUE(store_->Commit(CreateRun("r1", "order", 1000)).ok());
  ASSERT_TRUE(
      store_->Commit(UpdateRun("r1", storage::RUN_STATUS_FAILED, 1, 1, 2000))
          .ok());
  Outcomes outcomes;
  std::mutex mu;
  std::condition_variable cv;
  std::optional<Result<size_t>> purged;
  {
    CommitterLatch latch(store_.get(), "latch");
    store_->CommitAsync(
        UpdateRun("r1", storage::RUN_STATUS_RUNNING, 2, 1, 3000),
        outcomes.Slot(0));
    store_->PurgeEndedRunsAsync(10'000, 100, [&](Result<size_t> r) {
      std::lock_guard<std::mutex> lock(mu);
      purged.emplace(std::move(r));
      cv.notify_all();
    });
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return purged.has_value(); });
  }
  EXPECT_EQ(outcomes.Wait(), (std::vector<StatusCode>{StatusCode::kOk}));
  ASSERT_TRUE(purged->ok());
  EXPECT_EQ(purged->value(), 0u);
  EXPECT_EQ(store_->GetRun("r1")->status(), storage::RUN_STATUS_RUNNING);
}

TEST_P(StoreContractTest, WaitingFromACallbackFailsInsteadOfDeadlocking) {
  std::optional<StatusCode> nested_commit, nested_purge;
  ASSERT_TRUE(store_->Commit(CreateRun("r1", "order", 1000)).ok());
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  store_->CommitAsync(
      UpdateRun("r1", storage::RUN_STATUS_RUNNING, 1), [&](Result<Committed>) {
        nested_commit =
            store_->Commit(CreateRun("r2", "order", 1)).status().code();
        nested_purge = store_->PurgeEndedRuns(1, 1).status().code();
        std::lock_guard<std::mutex> lock(mu);
        done = true;
        cv.notify_all();
      });
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return done; });
  EXPECT_EQ(nested_commit, StatusCode::kFailedPrecondition);
  EXPECT_EQ(nested_purge, StatusCode::kFailedPrecondition);
}

TEST_P(StoreContractTest, TransitionsAreValidated) {
  ASSERT_TRUE(store_->Commit(CreateRun("r1", "order", 1000)).ok());
  Transition foreign = UpdateRun("r1", storage::RUN_STATUS_RUNNING, 1);
  foreign.put_tasks.emplace_back().set_run_id("r2");
  EXPECT_EQ(store_->Commit(std::move(foreign)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Commit(UpdateRun("r1", storage::RUN_STATUS_UNSPECIFIED, 1))
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  Transition versioned_create = CreateRun("r3", "order", 1);
  versioned_create.expected_version = 0;
  EXPECT_EQ(store_->Commit(std::move(versioned_create)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->GetRun("r1")->version(), 1u);
  // Records without a run id are claimed for the transition's run.
  Transition claimed = UpdateRun("r1", storage::RUN_STATUS_RUNNING, 1);
  claimed.put_tasks.emplace_back().set_task_id("t1");
  ASSERT_TRUE(store_->Commit(std::move(claimed)).ok());
  std::string owner;
  ASSERT_TRUE(store_
                  ->ScanTasks([&](const TaskRecord& t) {
                    return owner = t.run_id(), true;
                  })
                  .ok());
  EXPECT_EQ(owner, "r1");
  EXPECT_EQ(store_->RegisterWorkflow(Definition("order", "")).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_P(StoreContractTest, EndTimeIsKeptWhileTheRunStaysEnded) {
  ASSERT_TRUE(store_->Commit(CreateRun("r1", "order", 1000)).ok());
  ASSERT_TRUE(
      store_->Commit(UpdateRun("r1", storage::RUN_STATUS_FAILED, 1, 1, 2000))
          .ok());
  // A later transition that leaves it FAILED keeps the retention clock where it
  // was.
  ASSERT_TRUE(
      store_->Commit(UpdateRun("r1", storage::RUN_STATUS_FAILED, 2, 1, 9000))
          .ok());
  EXPECT_EQ(store_->GetRun("r1")->ended_at_ms(), 2000);
  EXPECT_EQ(*store_->PurgeEndedRuns(5000, 10), 1u);
  // An ended status without any time gets the current time.
  ASSERT_TRUE(store_->Commit(CreateRun("r2", "order", 1000)).ok());
  ASSERT_TRUE(
      store_->Commit(UpdateRun("r2", storage::RUN_STATUS_COMPLETED, 1, 1, 0))
          .ok());
  EXPECT_GT(store_->GetRun("r2")->ended_at_ms(), 1'700'000'000'000);
  EXPECT_EQ(*store_->PurgeEndedRuns(INT64_MAX, 10), 1u);
}

TEST_P(StoreContractTest, AStaleEndTimeFromTheCallerIsIgnored) {
  ASSERT_TRUE(store_->Commit(CreateRun("r1", "order", 1000)).ok());
  ASSERT_TRUE(
      store_->Commit(UpdateRun("r1", storage::RUN_STATUS_FAILED, 1, 1, 2000))
          .ok());
  ASSERT_TRUE(
      store_->Commit(UpdateRun("r1", storage::RUN_STATUS_RUNNING, 2, 1, 3000))
          .ok());
  // It fails again; the caller's copy of the record still says it ended at
  // 2000.
  Transition again = UpdateRun("r1", storage::RUN_STATUS_FAILED, 3, 1, 5000);
  again.run.set_ended_at_ms(2000);
  ASSERT_TRUE(store_->Commit(std::move(again)).ok());
  EXPECT_EQ(store_->GetRun("r1")->ended_at_ms(), 5000);
  EXPECT_EQ(*store_->PurgeEndedRuns(4000, 10), 0u);
}

TEST_P(StoreContractTest, LastPageHasNoToken) {
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(
        store_->Commit(CreateRun("r" + std::to_string(i), i < 2 ? "a" : "b", i))
            .ok());
  }
  ASSERT_TRUE(
      store_->Commit(UpdateRun("r2", storage::RUN_STATUS_COMPLETED, 1)).ok());
  // Exactly a page of matches, with a non-matching run after it: no token.
  auto page = store_->ListRuns({"b", storage::RUN_STATUS_RUNNING}, 1, "");
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(Ids(page->items), (std::vector<std::string>{"r3"}));
  EXPECT_TRUE(page->next_page_token.empty());
  auto all = store_->ListRuns({}, 4, "");
  EXPECT_EQ(all->items.size(), 4u);
  EXPECT_TRUE(all->next_page_token.empty());
  // A status listing's token is refused by the unfiltered listing.
  auto by_status = store_->ListRuns({"", storage::RUN_STATUS_RUNNING}, 1, "");
  ASSERT_FALSE(by_status->next_page_token.empty());
  EXPECT_EQ(store_->ListRuns({}, 1, by_status->next_page_token).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_P(StoreContractTest, ConcurrentCommittersOnDistinctRuns) {
  constexpr int kThreads = 8, kRuns = 5, kUpdates = 20;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int r = 0; r < kRuns; ++r) {
        const std::string id =
            "t" + std::to_string(t) + "-r" + std::to_string(r);
        if (!store_->Commit(CreateRun(id, "order", 1000 + r)).ok()) ++failures;
        for (int u = 0; u < kUpdates; ++u) {
          if (!store_->Commit(UpdateRun(id, storage::RUN_STATUS_RUNNING, 1 + u))
                   .ok())
            ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  std::set<uint64_t> run_nos;
  auto page = store_->ListRuns({}, 1000, "");
  ASSERT_EQ(page->items.size(), static_cast<size_t>(kThreads * kRuns));
  for (const auto& run : page->items) {
    EXPECT_EQ(run.version(), kUpdates + 1u);
    EXPECT_EQ(store_->ReadHistory(run.run_id(), 0, 0)->size(), kUpdates + 1u);
    run_nos.insert(run.run_no());
  }
  EXPECT_EQ(run_nos.size(), static_cast<size_t>(kThreads * kRuns));
}

TEST_P(StoreContractTest, RunIdsAreValidated) {
  EXPECT_EQ(store_->Commit(CreateRun("", "order", 1)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Commit(CreateRun(std::string(300, 'x'), "order", 1))
                .status()
                .code(),
            StatusCode::kInvalidArgument);
}

// --- Schedules.

ScheduleRecord Schedule(const std::string& id, int64_t next_fire_ms = 0) {
  ScheduleRecord r;
  r.set_schedule_id(id);
  r.set_workflow("order");
  r.set_interval_ms(60'000);
  r.set_next_fire_ms(next_fire_ms);
  return r;
}

TEST_P(StoreContractTest, SchedulesAreCreatedRevisedAndDeleted) {
  auto created =
      store_->PutSchedule(Schedule("nightly", 5), true, std::nullopt);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(created->revision(), 1u);
  EXPECT_EQ(store_->PutSchedule(Schedule("nightly"), true, std::nullopt)
                .status()
                .code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(store_->PutSchedule(Schedule("absent"), false, std::nullopt)
                .status()
                .code(),
            StatusCode::kNotFound);

  // Optimistic concurrency: a writer that read revision 1 loses to one that
  // wrote after it.
  auto second = store_->PutSchedule(Schedule("nightly", 6), false, 1);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->revision(), 2u);
  auto stale = store_->PutSchedule(Schedule("nightly", 7), false, 1);
  EXPECT_EQ(stale.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->GetSchedule("nightly")->next_fire_ms(), 6);

  ASSERT_TRUE(store_->PutSchedule(Schedule("hourly"), true, std::nullopt).ok());
  Reopen();
  std::vector<std::string> ids;
  ASSERT_TRUE(store_
                  ->ScanSchedules([&](const ScheduleRecord& r) {
                    ids.push_back(r.schedule_id());
                    return true;
                  })
                  .ok());
  EXPECT_EQ(ids, (std::vector<std::string>{"hourly", "nightly"}));
  EXPECT_EQ(store_->GetSchedule("nightly")->revision(), 2u);

  ASSERT_TRUE(store_->DeleteSchedule("nightly").ok());
  EXPECT_EQ(store_->DeleteSchedule("nightly").code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->GetSchedule("nightly").status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(
      store_->PutSchedule(Schedule(""), true, std::nullopt).status().code(),
      StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sagaflow::persistence

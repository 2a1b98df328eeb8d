// Damaged files under a closed store: a torn WAL tail, flipped bits in an SST
// file, a broken MANIFEST or CURRENT. The store must either open at a
// consistent prefix of what was committed (the WAL tail) or refuse to open with
// a message naming the directory and what is damaged; it never silently
// returns wrong data, and never opens a damaged store as an empty one.
#include <gtest/gtest.h>
#include <rocksdb/options.h>
#include <rocksdb/sst_file_reader.h>
#include <rocksdb/table_properties.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "persistence/keys.h"
#include "persistence/rocksdb_store.h"
#include "tests/persistence/test_util.h"

namespace sagaflow::persistence {
namespace {

namespace fs = std::filesystem;

constexpr int kRuns = 200;

std::string RunId(int i) { return "r" + std::to_string(i); }

void FlipByte(const fs::path& path, uint64_t offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(f) << path;
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(~c);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&c, 1);
  ASSERT_TRUE(f) << path;
}

void Append(const fs::path& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::app | std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(f) << path;
}

std::string Garbage(size_t n, uint32_t seed = 0) {
  std::string out(n, '\0');
  uint32_t x = 2463534242u + seed;
  for (char& c : out) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x);
  }
  return out;
}

std::string Input(int i) {
  return "\"" + keys::ToHex(Garbage(100, static_cast<uint32_t>(i))) + "\"";
}

class CorruptionTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::MakeTempDir("corrupt"); }
  void TearDown() override { testing::RemoveDir(dir_); }

  RocksDbOptions Options() const {
    RocksDbOptions options;
    options.path = dir_;
    options.durability = Durability::kSync;
    return options;
  }

  // Commits kRuns runs (a create with 3 events, then an update with one), one
  // synced write each, the last of all an update of the last run; optionally
  // compacts everything into SST files. Keeps each run's encoded record.
  void Populate(bool compact) {
    auto opened = RocksDbStore::Open(Options());
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    RocksDbStore& store = **opened;
    for (int i = 0; i < kRuns; ++i) {
      Transition create = testing::CreateRun(RunId(i), "order", 1000 + i, 3);
      // Incompressible inputs: the runs' SST file has many data blocks, so a
      // damaged one leaves the others readable.
      create.run.set_input_json(Input(i));
      ASSERT_TRUE(store.Commit(std::move(create)).ok());
    }
    for (int i = 0; i < kRuns; ++i) {
      Transition update =
          testing::UpdateRun(RunId(i), storage::RUN_STATUS_RUNNING, 3, 1);
      update.run.set_input_json(Input(i));
      ASSERT_TRUE(store.Commit(std::move(update)).ok());
    }
    if (compact) {
      ASSERT_TRUE(store.CompactAll().ok());
    }
    for (int i = 0; i < kRuns; ++i) {
      expected_[RunId(i)] = store.GetRun(RunId(i))->SerializeAsString();
    }
  }

  std::vector<fs::path> Files(std::string_view prefix,
                              std::string_view suffix) const {
    std::vector<fs::path> out;
    for (const auto& entry : fs::directory_iterator(dir_)) {
      const std::string name = entry.path().filename().string();
      if (name.rfind(prefix, 0) == 0 && name.size() >= suffix.size() &&
          name.compare(name.size() - suffix.size(), suffix.size(), suffix) ==
              0) {
        out.push_back(entry.path());
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  // The SST file of a column family, and where its data blocks end.
  struct Sst {
    fs::path path;
    uint64_t data_size = 0;
  };
  std::vector<Sst> SstsOf(const std::string& family) const {
    std::vector<Sst> out;
    for (const fs::path& path : Files("", ".sst")) {
      rocksdb::SstFileReader reader{rocksdb::Options()};
      EXPECT_TRUE(reader.Open(path.string()).ok()) << path;
      auto props = reader.GetTableProperties();
      if (props && props->column_family_name == family) {
        out.push_back({path, props->data_size});
      }
    }
    return out;
  }

  // An offset in a data block of the runs' SST that Open's cross-family
  // sample does not read: 30% into the file by run id (about r150), away from
  // the sampled r0, r99 and r199 (first, last, and newest created). Only the
  // checksum verification reads it at open.
  static uint64_t DataBlockNoSampleReads(const Sst& sst) {
    return sst.data_size * 3 / 10;
  }

  std::string dir_;
  std::map<std::string, std::string> expected_;  // Run id -> record bytes.
};

// Expects Open to refuse with CORRUPTION, naming the directory and `what`.
void ExpectRefused(const Result<std::unique_ptr<RocksDbStore>>& opened,
                   const std::string& dir, const std::string& what) {
  ASSERT_FALSE(opened.ok()) << "a damaged store was opened";
  EXPECT_EQ(opened.status().code(), StatusCode::kCorruption)
      << opened.status().ToString();
  EXPECT_NE(opened.status().message().find(dir), std::string::npos)
      << opened.status().ToString();
  EXPECT_NE(opened.status().message().find(what), std::string::npos)
      << opened.status().ToString();
  std::cout << "[ refused ] " << opened.status().ToString() << "\n";
}

// --- The WAL.

// A crash while a write was being appended leaves a partial record (or
// preallocated zeros) at the WAL's end; none of it was acknowledged. Every
// acknowledged commit must survive it.
TEST_F(CorruptionTest, GarbageAfterTheWalTailLosesNothingAcknowledged) {
  for (const std::string& tail :
       {Garbage(7), Garbage(100), std::string(4096, '\0'),
        std::string("\x12\x34\x56\x78\xff\x7f\x01", 7) + Garbage(20)}) {
    SCOPED_TRACE(std::to_string(tail.size()) + " bytes appended");
    testing::RemoveDir(dir_);
    fs::create_directories(dir_);
    expected_.clear();
    Populate(/*compact=*/false);
    const std::vector<fs::path> wals = Files("", ".log");
    ASSERT_FALSE(wals.empty());
    Append(wals.back(), tail);

    auto opened = RocksDbStore::Open(Options());
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    std::map<std::string, RunRecord> runs = testing::ExpectWholeStore(**opened);
    ASSERT_EQ(runs.size(), static_cast<size_t>(kRuns));
    for (const auto& [id, bytes] : expected_) {
      EXPECT_EQ(runs[id].SerializeAsString(), bytes) << id;
    }
  }
}

// The last record itself torn: with sync durability it was acknowledged, so
// only a disk that loses synced data does this. The store still opens at the
// consistent prefix before it: every other run as committed, the last run as
// it was before its torn update, nothing half applied.
TEST_F(CorruptionTest, ATornLastWalRecordIsCutWholeAtTheRecordBefore) {
  for (uint64_t cut : {1, 8, 40}) {
    SCOPED_TRACE("WAL cut by " + std::to_string(cut) + " bytes");
    testing::RemoveDir(dir_);
    fs::create_directories(dir_);
    expected_.clear();
    Populate(/*compact=*/false);
    const std::vector<fs::path> wals = Files("", ".log");
    ASSERT_FALSE(wals.empty());
    fs::resize_file(wals.back(), fs::file_size(wals.back()) - cut);

    auto opened = RocksDbStore::Open(Options());
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    std::map<std::string, RunRecord> runs = testing::ExpectWholeStore(**opened);
    ASSERT_EQ(runs.size(), static_cast<size_t>(kRuns));
    const std::string last = RunId(kRuns - 1);
    for (const auto& [id, bytes] : expected_) {
      if (id == last) continue;
      EXPECT_EQ(runs[id].SerializeAsString(), bytes) << id;
    }
    EXPECT_EQ(runs[last].version(), 1u);
    EXPECT_EQ(runs[last].last_event_seq(), 3u);
    // The store goes on from there.
    auto next = (*opened)->Commit(
        testing::UpdateRun(last, storage::RUN_STATUS_RUNNING, 3, 1));
    ASSERT_TRUE(next.ok()) << next.status().ToString();
    EXPECT_EQ(next->version, 2u);
  }
}

// A record damaged in the middle of the WAL (a disk that corrupts synced
// data). Point-in-time recovery would stop there and silently drop every
// record after it, all acknowledged. The store refuses instead, naming the
// damage, with the files untouched (`ldb repair` salvages the records after
// it).
TEST_F(CorruptionTest, ADamagedWalRecordBeforeValidOnesStopsOpen) {
  Populate(/*compact=*/false);
  const std::vector<fs::path> wals = Files("", ".log");
  ASSERT_FALSE(wals.empty());
  FlipByte(wals.back(), fs::file_size(wals.back()) / 2);
  const uintmax_t size = fs::file_size(wals.back());
  ExpectRefused(RocksDbStore::Open(Options()), dir_, "acknowledged");
  EXPECT_EQ(fs::file_size(wals.back()), size);
}

// A damaged last record, whole in length (a power cut kept its header but
// lost a sector of its payload): it was never acknowledged by a crash-free
// sync, and nothing follows it. The store opens without it, at the prefix.
TEST_F(CorruptionTest, ADamagedLastWalRecordIsDroppedAsATornTail) {
  Populate(/*compact=*/false);
  const std::vector<fs::path> wals = Files("", ".log");
  ASSERT_FALSE(wals.empty());
  FlipByte(wals.back(), fs::file_size(wals.back()) - 20);

  auto opened = RocksDbStore::Open(Options());
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  std::map<std::string, RunRecord> runs = testing::ExpectWholeStore(**opened);
  ASSERT_EQ(runs.size(), static_cast<size_t>(kRuns));
  const std::string last = RunId(kRuns - 1);
  for (const auto& [id, bytes] : expected_) {
    if (id != last) {
      EXPECT_EQ(runs[id].SerializeAsString(), bytes) << id;
    }
  }
  EXPECT_EQ(runs[last].version(), 1u);
}

// --- SST files.

// A flipped byte inside a data block. Open reads every block of a store this
// small (verify_checksums_on_open_max_bytes) and refuses to start, naming the
// file; without that verification it would open (next test).
TEST_F(CorruptionTest, AFlippedBitInAnSstDataBlockStopsOpen) {
  Populate(/*compact=*/true);
  const std::vector<Sst> ssts = SstsOf("runs");
  ASSERT_EQ(ssts.size(), 1u);
  FlipByte(ssts[0].path, DataBlockNoSampleReads(ssts[0]));
  auto opened = RocksDbStore::Open(Options());
  ExpectRefused(opened, dir_, ssts[0].path.filename().string());
}

// The same damage in a store too large to verify at open: Open succeeds, and
// every read returns either the data as committed or CORRUPTION naming the
// file; never anything else.
TEST_F(CorruptionTest, AFlippedBitInAnSstIsReportedByReadsNeverReturned) {
  Populate(/*compact=*/true);
  const std::vector<Sst> ssts = SstsOf("runs");
  ASSERT_EQ(ssts.size(), 1u);
  FlipByte(ssts[0].path, DataBlockNoSampleReads(ssts[0]));
  const std::string file = ssts[0].path.filename().string();

  RocksDbOptions options = Options();
  options.verify_checksums_on_open_max_bytes = 0;
  auto opened = RocksDbStore::Open(options);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  RocksDbStore& store = **opened;
  size_t corrupt = 0, intact = 0;
  for (const auto& [id, bytes] : expected_) {
    auto run = store.GetRun(id);
    if (run.ok()) {
      EXPECT_EQ(run->SerializeAsString(), bytes) << id;
      ++intact;
    } else {
      EXPECT_EQ(run.status().code(), StatusCode::kCorruption)
          << run.status().ToString();
      EXPECT_NE(run.status().message().find(file), std::string::npos)
          << run.status().ToString();
      ++corrupt;
    }
  }
  EXPECT_GT(corrupt, 0u) << "no read noticed the flipped byte";
  EXPECT_GT(intact, 0u) << "one flipped byte made every run unreadable";
  auto listed = store.ListRuns(RunFilter{}, 1000, "");
  EXPECT_EQ(listed.status().code(), StatusCode::kCorruption)
      << listed.status().ToString();
  const Status verified = store.VerifyChecksums();
  EXPECT_EQ(verified.code(), StatusCode::kCorruption) << verified.ToString();
  EXPECT_NE(verified.message().find(file), std::string::npos)
      << verified.ToString();
}

// Damage to an SST's footer (its last bytes) is found when Open reads the
// table's metadata, even without the full verification.
TEST_F(CorruptionTest, ADamagedSstFooterStopsOpenEvenWithoutVerification) {
  Populate(/*compact=*/true);
  const std::vector<Sst> ssts = SstsOf("history");
  ASSERT_EQ(ssts.size(), 1u);
  FlipByte(ssts[0].path, fs::file_size(ssts[0].path) - 1);
  RocksDbOptions options = Options();
  options.verify_checksums_on_open_max_bytes = 0;
  ExpectRefused(RocksDbStore::Open(options), dir_,
                ssts[0].path.filename().string());
}

// --- MANIFEST and CURRENT.

TEST_F(CorruptionTest, AnOverwrittenManifestStopsOpen) {
  Populate(/*compact=*/true);
  const std::vector<fs::path> manifests = Files("MANIFEST-", "");
  ASSERT_EQ(manifests.size(), 1u);
  const uint64_t size = fs::file_size(manifests[0]);
  for (uint64_t offset = size / 2; offset < size / 2 + 16; ++offset) {
    FlipByte(manifests[0], offset);
  }
  ExpectRefused(RocksDbStore::Open(Options()), dir_, "MANIFEST");
}

// A MANIFEST cut short, anywhere. RocksDB takes a cut MANIFEST for one torn
// by a crash and opens the older file list it describes: with some families
// missing data, or none at all (and then deletes the newer SST files as
// leftovers). The store must never open part of itself: it refuses, before
// RocksDB deletes anything, or opens with everything there.
TEST_F(CorruptionTest, ATruncatedManifestNeverOpensPartOfTheStore) {
  size_t refused = 0;
  for (int percent = 5; percent < 100; percent += 5) {
    SCOPED_TRACE("MANIFEST cut to " + std::to_string(percent) + "%");
    testing::RemoveDir(dir_);
    fs::create_directories(dir_);
    expected_.clear();
    Populate(/*compact=*/true);
    const std::vector<fs::path> manifests = Files("MANIFEST-", "");
    ASSERT_EQ(manifests.size(), 1u);
    fs::resize_file(manifests[0], fs::file_size(manifests[0]) * percent / 100);
    const std::vector<fs::path> ssts = Files("", ".sst");
    auto opened = RocksDbStore::Open(Options());
    if (!opened.ok()) {
      ExpectRefused(opened, dir_, "");
      EXPECT_EQ(Files("", ".sst"), ssts) << "a refused store was changed";
      ++refused;
      continue;
    }
    std::map<std::string, RunRecord> runs = testing::ExpectWholeStore(**opened);
    EXPECT_EQ(runs.size(), static_cast<size_t>(kRuns));
    for (const auto& [id, bytes] : expected_) {
      EXPECT_EQ(runs[id].SerializeAsString(), bytes) << id;
    }
  }
  EXPECT_GT(refused, 0u);
}

TEST_F(CorruptionTest, CurrentNamingAMissingManifestStopsOpen) {
  Populate(/*compact=*/true);
  {
    std::ofstream current(fs::path(dir_) / "CURRENT", std::ios::trunc);
    current << "MANIFEST-999999\n";
  }
  ExpectRefused(RocksDbStore::Open(Options()), dir_, "MANIFEST-999999");
}

TEST_F(CorruptionTest, GarbageInCurrentStopsOpen) {
  Populate(/*compact=*/true);
  {
    std::ofstream current(fs::path(dir_) / "CURRENT", std::ios::trunc);
    current << Garbage(30);
  }
  ExpectRefused(RocksDbStore::Open(Options()), dir_, "CURRENT");
}

// Without CURRENT, RocksDB would create a new, empty store and delete the old
// files as obsolete. The store refuses, and leaves the files alone.
TEST_F(CorruptionTest, AMissingCurrentStopsOpenAndKeepsTheFiles) {
  Populate(/*compact=*/true);
  fs::remove(fs::path(dir_) / "CURRENT");
  const std::vector<fs::path> before = Files("", ".sst");
  ASSERT_FALSE(before.empty());
  ExpectRefused(RocksDbStore::Open(Options()), dir_, "CURRENT");
  EXPECT_EQ(Files("", ".sst"), before);
}

}  // namespace
}  // namespace sagaflow::persistence

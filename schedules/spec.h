// A schedule's spec (the what and when of a ScheduleRecord): its validation
// and the fire times it produces (docs/SCHEDULES.md).
#ifndef SAGAFLOW_SCHEDULES_SPEC_H_
#define SAGAFLOW_SCHEDULES_SPEC_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/time.h"
#include "persistence/store.h"
#include "schedules/cron.h"

namespace sagaflow::schedules {

using persistence::ScheduleRecord;

// The overlap policies, numbered as sagaflow.v1.OverlapPolicy.
enum class Overlap : int32_t {
  kSkip = 1,
  kBufferOne = 2,
  kAllowAll = 3,
  kCancelOther = 4,
};
std::string_view OverlapName(Overlap overlap);  // "skip", "buffer_one", ...
std::optional<Overlap> ParseOverlap(std::string_view name);
// A stored value, with 0 (unspecified) read as skip.
Overlap OverlapOf(const ScheduleRecord& record);

inline constexpr Duration kDefaultCatchupWindow = std::chrono::hours(1);
inline constexpr Duration kMinInterval = std::chrono::seconds(1);
inline constexpr Duration kMinCatchupWindow = std::chrono::seconds(1);
inline constexpr size_t kMaxScheduleIdBytes = 100;
inline constexpr size_t kMaxNoteBytes = 1000;

Duration CatchupWindowOf(const ScheduleRecord& record);

// When a valid spec fires: a cron expression in a time zone, or a fixed
// interval anchored at start_time (or the Unix epoch), within the optional
// [start_time, end_time] bounds. Cheap to copy.
class FireTimes {
 public:
  // INVALID_ARGUMENT naming every wrong field ("cron: ...", "interval: ...",
  // "timezone: ...", "end_time: ...").
  static Result<FireTimes> Of(const ScheduleRecord& spec);

  // The first fire time strictly after `after_ms`; nullopt when there is
  // none (end_time passed).
  std::optional<int64_t> NextAfter(int64_t after_ms) const;

 private:
  std::optional<CronSchedule> cron_;
  TimeZone zone_ = TimeZone::Utc();
  int64_t interval_ms_ = 0;
  int64_t start_ms_ = 0;  // 0: none.
  int64_t end_ms_ = 0;    // 0: none.
};

// Checks everything about a spec that needs no store (every error at once,
// each naming its field), the schedule id included.
Status ValidateSpec(const ScheduleRecord& spec);

}  // namespace sagaflow::schedules

#endif  // SAGAFLOW_SCHEDULES_SPEC_H_

#include "schedules/spec.h"

#include <limits>
#include <vector>

#include "dsl/json.h"

namespace sagaflow::schedules {
namespace {

Status Invalid(const std::vector<std::string>& errors) {
  std::string message;
  for (const std::string& e : errors) {
    if (!message.empty()) message += "; ";
    message += e;
  }
  return Status::InvalidArgument(std::move(message));
}

bool IsIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

bool IsValidId(std::string_view id) {
  if (id.empty() || id.size() > kMaxScheduleIdBytes) return false;
  const char first = id[0];
  if (!((first >= 'a' && first <= 'z') || (first >= 'A' && first <= 'Z'))) {
    return false;
  }
  for (char c : id) {
    if (!IsIdChar(c)) return false;
  }
  return true;
}

}  // namespace

std::string_view OverlapName(Overlap overlap) {
  switch (overlap) {
    case Overlap::kSkip:
      return "skip";
    case Overlap::kBufferOne:
      return "buffer_one";
    case Overlap::kAllowAll:
      return "allow_all";
    case Overlap::kCancelOther:
      return "cancel_other";
  }
  return "skip";
}

std::optional<Overlap> ParseOverlap(std::string_view name) {
  for (Overlap o : {Overlap::kSkip, Overlap::kBufferOne, Overlap::kAllowAll,
                    Overlap::kCancelOther}) {
    if (OverlapName(o) == name) return o;
  }
  return std::nullopt;
}

Overlap OverlapOf(const ScheduleRecord& record) {
  const int32_t v = record.overlap();
  if (v < static_cast<int32_t>(Overlap::kSkip) ||
      v > static_cast<int32_t>(Overlap::kCancelOther)) {
    return Overlap::kSkip;
  }
  return static_cast<Overlap>(v);
}

Duration CatchupWindowOf(const ScheduleRecord& record) {
  return record.catchup_window_ms() > 0 ? Duration(record.catchup_window_ms())
                                        : kDefaultCatchupWindow;
}

Result<FireTimes> FireTimes::Of(const ScheduleRecord& spec) {
  std::vector<std::string> errors;
  FireTimes times;
  const bool has_cron = !spec.cron().empty();
  const bool has_interval = spec.interval_ms() != 0;
  if (has_cron == has_interval) {
    errors.push_back(has_cron
                         ? "a schedule has a cron expression or an interval, "
                           "not both"
                         : "a schedule needs a cron expression or an interval");
  }
  if (has_cron) {
    auto cron = CronSchedule::Parse(spec.cron());
    if (cron.ok()) {
      times.cron_ = std::move(cron).value();
    } else {
      errors.push_back("cron: " + cron.status().message());
    }
  }
  if (has_interval) {
    if (spec.interval_ms() < kMinInterval.count()) {
      errors.push_back(
          "interval: " + FormatDuration(Duration(spec.interval_ms())) +
          " is shorter than the minimum, " + FormatDuration(kMinInterval));
    } else {
      times.interval_ms_ = spec.interval_ms();
    }
  }
  if (!spec.timezone().empty()) {
    if (!has_cron) {
      errors.push_back(
          "timezone: only a cron expression is read in a time "
          "zone (an interval is the same everywhere)");
    } else {
      auto zone = TimeZone::Load(spec.timezone());
      if (zone.ok()) {
        times.zone_ = *zone;
      } else {
        errors.push_back("timezone: " + zone.status().message());
      }
    }
  }
  if (spec.start_time_ms() < 0) {
    errors.push_back("start_time: out of range (years 1970 to 9999)");
  }
  if (spec.end_time_ms() < 0) {
    errors.push_back("end_time: out of range (years 1970 to 9999)");
  }
  if (spec.start_time_ms() > 0 && spec.end_time_ms() > 0 &&
      spec.end_time_ms() <= spec.start_time_ms()) {
    errors.push_back(
        "end_time: " + FormatRfc3339(FromUnixMillis(spec.end_time_ms())) +
        " is not after start_time " +
        FormatRfc3339(FromUnixMillis(spec.start_time_ms())));
  }
  times.start_ms_ = std::max<int64_t>(spec.start_time_ms(), 0);
  times.end_ms_ = std::max<int64_t>(spec.end_time_ms(), 0);
  if (!errors.empty()) return Invalid(errors);
  return times;
}

std::optional<int64_t> FireTimes::NextAfter(int64_t after_ms) const {
  // The first fire time may be start_time itself.
  if (start_ms_ > 0 && after_ms < start_ms_) after_ms = start_ms_ - 1;
  int64_t next = 0;
  if (cron_) {
    auto found = cron_->NextAfter(FromUnixMillis(after_ms), zone_);
    if (!found.ok()) return std::nullopt;
    next = ToUnixMillis(*found);
  } else {
    const int64_t anchor = start_ms_;
    const int64_t since = after_ms - anchor;  // >= -1
    const int64_t k = since < 0 ? 0 : since / interval_ms_ + 1;
    if (k > (std::numeric_limits<int64_t>::max() - anchor) / interval_ms_) {
      return std::nullopt;
    }
    next = anchor + k * interval_ms_;
  }
  if (end_ms_ > 0 && next > end_ms_) return std::nullopt;
  return next;
}

Status ValidateSpec(const ScheduleRecord& spec) {
  std::vector<std::string> errors;
  if (!IsValidId(spec.schedule_id())) {
    errors.push_back("schedule_id: \"" + spec.schedule_id().substr(0, 120) +
                     "\" is not a valid id (a letter, then up to 99 letters, "
                     "digits, '_', '.' or '-')");
  }
  if (spec.workflow().empty()) errors.push_back("workflow: required");
  if (spec.overlap() < 0 ||
      spec.overlap() > static_cast<int32_t>(Overlap::kCancelOther)) {
    errors.push_back("overlap: unknown policy " +
                     std::to_string(spec.overlap()) +
                     " (expected skip, buffer_one, allow_all or cancel_other)");
  }
  if (spec.catchup_window_ms() < 0 ||
      (spec.catchup_window_ms() > 0 &&
       spec.catchup_window_ms() < kMinCatchupWindow.count())) {
    errors.push_back("catchup_window: must be at least " +
                     FormatDuration(kMinCatchupWindow));
  }
  if (spec.note().size() > kMaxNoteBytes) {
    errors.push_back("note: longer than " + std::to_string(kMaxNoteBytes) +
                     " bytes");
  }
  if (!spec.input_json().empty()) {
    auto input = dsl::ParseJson(spec.input_json(), dsl::JsonParseOptions{});
    if (!input.ok()) errors.push_back("input: " + input.status().message());
  }
  auto times = FireTimes::Of(spec);
  if (!times.ok()) errors.push_back(times.status().message());
  if (!errors.empty()) return Invalid(errors);
  return Status::Ok();
}

}  // namespace sagaflow::schedules

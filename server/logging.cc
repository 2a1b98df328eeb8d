#include "server/logging.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "common/time.h"

namespace sagaflow::server {
namespace {

// {"time":"2026-11-25T10:00:00.123Z","level":"info","msg":"..."}: the message
// is escaped properly, which spdlog's pattern formatter cannot do.
class JsonFormatter : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg,
              spdlog::memory_buf_t& dest) override {
    const auto since_epoch =
        std::chrono::duration_cast<Duration>(msg.time.time_since_epoch());
    const auto level = spdlog::level::to_string_view(msg.level);
    nlohmann::json line = {
        {"time", FormatRfc3339(TimePoint(since_epoch))},
        // fmt's string_view would serialize as an array of char codes.
        {"level", std::string(level.data(), level.size())},
        {"msg", std::string(msg.payload.data(), msg.payload.size())},
    };
    const std::string text =
        line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    dest.append(text.data(), text.data() + text.size());
    dest.push_back('\n');
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

}  // namespace

void SetUpLogging(const ServerOptions& options) {
  auto logger = spdlog::stderr_logger_mt("sagaflowd");
  if (options.log_format == LogFormat::kJson) {
    logger->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%-5l%$ %v",
                        spdlog::pattern_time_type::utc);
  }
  logger->set_level(spdlog::level::from_str(options.log_level));
  // Warnings and errors reach the terminal at once; info lines may batch.
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace sagaflow::server

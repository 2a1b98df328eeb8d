// What the CLI tests share: running the CLI in-process, and definitions.
#ifndef SAGAFLOW_TESTS_CLI_TEST_SUPPORT_H_
#define SAGAFLOW_TESTS_CLI_TEST_SUPPORT_H_

#include <sstream>
#include <string>
#include <vector>

#include "cli/cli.h"

namespace sagaflow::cli::testdata {

struct Outcome {
  int code;
  std::string out;
  std::string err;
};

// Runs the CLI's Main in this process with `args` (without the program name).
inline Outcome RunCli(std::vector<std::string> args) {
  args.insert(args.begin(), "sagaflow");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  std::ostringstream out, err;
  const int code = Main(static_cast<int>(argv.size()), argv.data(), out, err);
  return {code, out.str(), err.str()};
}

inline constexpr char kValid[] = R"json({
  "name": "tiny", "start_at": "a",
  "steps": {
    "a": {"type": "task", "activity": "x.do", "compensate": {"activity": "x.undo"}, "next": "b"},
    "b": {"type": "succeed"}
  }
})json";

// Three different mistakes: a bad duration, a misspelt next, an unknown step
// type.
inline constexpr char kThreeMistakes[] = R"json({
  "name": "order", "start_at": "reserve",
  "steps": {
    "reserve": {"type": "task", "activity": "inv.reserve", "timeout": "10x", "next": "charge"},
    "charge": {"type": "task", "activity": "pay.charge", "next": "shp"},
    "ship": {"type": "taks", "activity": "ship.ship"}
  }
})json";

}  // namespace sagaflow::cli::testdata

#endif  // SAGAFLOW_TESTS_CLI_TEST_SUPPORT_H_

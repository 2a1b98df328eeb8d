// Workflow definitions the CLI tests share.
#ifndef SAGAFLOW_TESTS_CLI_DEFINITIONS_H_
#define SAGAFLOW_TESTS_CLI_DEFINITIONS_H_

namespace sagaflow::cli::testdata {

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

#endif  // SAGAFLOW_TESTS_CLI_DEFINITIONS_H_

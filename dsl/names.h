// The naming rules of the DSL, shared by the compiler and by whatever registers
// names (the activity registry).
#ifndef SAGAFLOW_DSL_NAMES_H_
#define SAGAFLOW_DSL_NAMES_H_

#include <string_view>

namespace sagaflow::dsl {

// [A-Za-z_][A-Za-z0-9_-]{0,127}: step and signal names, usable as path segments
// ($.steps.NAME.output, $.signals.NAME).
bool IsStepName(std::string_view s);

// [A-Za-z][A-Za-z0-9_.-]{0,127}: workflow and activity names.
bool IsQualifiedName(std::string_view s);

}  // namespace sagaflow::dsl

#endif  // SAGAFLOW_DSL_NAMES_H_

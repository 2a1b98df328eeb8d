// Renders a compiled workflow as a state-machine diagram: Mermaid (flowchart)
// or Graphviz DOT. Branches and map iterators are drawn as clusters;
// compensation edges are dashed.
#ifndef SAGAFLOW_DSL_GRAPH_H_
#define SAGAFLOW_DSL_GRAPH_H_

#include <optional>
#include <string>
#include <string_view>

#include "dsl/plan.h"

namespace sagaflow::dsl {

enum class GraphFormat { kMermaid, kDot };

std::optional<GraphFormat> ParseGraphFormat(std::string_view name);
std::string RenderGraph(const Plan& plan, GraphFormat format);

}  // namespace sagaflow::dsl

#endif  // SAGAFLOW_DSL_GRAPH_H_

// Rendering a compiled workflow as Mermaid and Graphviz DOT.
#include "dsl/graph.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "dsl/compiler.h"

namespace sagaflow::dsl {
namespace {

constexpr char kSaga[] = R"json({
  "name": "small_saga",
  "start_at": "reserve",
  "steps": {
    "reserve": {"type": "task", "activity": "inventory.reserve",
                "compensate": {"activity": "inventory.release"}, "next": "fan"},
    "fan": {"type": "parallel", "next": "charge", "branches": [
        {"start_at": "pack", "steps": {"pack": {"type": "task", "activity": "warehouse.pack"}}},
        {"start_at": "label", "steps": {"label": {"type": "task", "activity": "post.label"}}}]},
    "charge": {"type": "task", "activity": "payments.charge",
               "catch": [{"errors": ["CardDeclined"], "next": "declined"}], "next": "route"},
    "route": {"type": "choice",
              "choices": [{"when": {"path": "$.input.express", "op": "==", "value": true},
                           "next": "done"}],
              "default": "done"},
    "declined": {"type": "fail", "error": "PaymentDeclined"},
    "done": {"type": "succeed"}
  }
})json";

std::shared_ptr<const Plan> CompileSaga() {
  CompileResult result = CompileDefinition(kSaga);
  if (!result.ok()) {
    ADD_FAILURE() << FormatErrors(result.error());
    return nullptr;
  }
  return result.value();
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(GraphTest, ParseGraphFormat) {
  EXPECT_EQ(ParseGraphFormat("mermaid"),
            std::optional<GraphFormat>(GraphFormat::kMermaid));
  EXPECT_EQ(ParseGraphFormat("dot"),
            std::optional<GraphFormat>(GraphFormat::kDot));
  EXPECT_FALSE(ParseGraphFormat("svg").has_value());
  EXPECT_FALSE(ParseGraphFormat("").has_value());
}

TEST(GraphTest, MermaidContainsEveryStep) {
  auto plan = CompileSaga();
  ASSERT_TRUE(plan);
  const std::string out = RenderGraph(*plan, GraphFormat::kMermaid);
  EXPECT_TRUE(Contains(out, "flowchart")) << out;
  EXPECT_TRUE(Contains(out, "small_saga")) << out;
  for (const Step& step : plan->steps()) {
    EXPECT_TRUE(Contains(out, step.name)) << step.name << " missing from:\n"
                                          << out;
  }
  EXPECT_TRUE(Contains(out, "inventory.reserve")) << out;
}

TEST(GraphTest, MermaidCompensationEdgeIsDashed) {
  auto plan = CompileSaga();
  ASSERT_TRUE(plan);
  const std::string out = RenderGraph(*plan, GraphFormat::kMermaid);
  EXPECT_TRUE(Contains(out, "-.->")) << out;
  EXPECT_TRUE(Contains(out, "inventory.release")) << out;
  // Only the one step with a compensation gets a dashed edge.
  size_t dashed = 0;
  for (size_t pos = out.find("-.->"); pos != std::string::npos;
       pos = out.find("-.->", pos + 1)) {
    ++dashed;
  }
  EXPECT_EQ(dashed, 1u) << out;
}

TEST(GraphTest, MermaidCatchEdgeLabelAndBranchSubgraph) {
  auto plan = CompileSaga();
  ASSERT_TRUE(plan);
  const std::string out = RenderGraph(*plan, GraphFormat::kMermaid);
  EXPECT_TRUE(Contains(out, "catch CardDeclined")) << out;
  EXPECT_TRUE(Contains(out, "subgraph")) << out;
  EXPECT_TRUE(Contains(out, "fan: branch 1")) << out;
  EXPECT_TRUE(Contains(out, "fan: branch 2")) << out;
  EXPECT_TRUE(Contains(out, "default")) << out;
  EXPECT_TRUE(Contains(out, "$.input.express == true")) << out;
}

TEST(GraphTest, DotContainsEveryStep) {
  auto plan = CompileSaga();
  ASSERT_TRUE(plan);
  const std::string out = RenderGraph(*plan, GraphFormat::kDot);
  EXPECT_EQ(out.rfind("digraph", 0), 0u) << out;
  EXPECT_EQ(out.back(), '\n');
  EXPECT_TRUE(Contains(out, "}\n")) << out;
  for (const Step& step : plan->steps()) {
    EXPECT_TRUE(Contains(out, step.name)) << step.name << " missing from:\n"
                                          << out;
  }
}

TEST(GraphTest, DotCompensationEdgeCatchLabelAndCluster) {
  auto plan = CompileSaga();
  ASSERT_TRUE(plan);
  const std::string out = RenderGraph(*plan, GraphFormat::kDot);
  EXPECT_TRUE(Contains(out, "style=dashed")) << out;
  EXPECT_TRUE(Contains(out, "label=\"compensate\"")) << out;
  EXPECT_TRUE(Contains(out, "label=\"catch CardDeclined\"")) << out;
  EXPECT_TRUE(Contains(out, "subgraph cluster_")) << out;
  EXPECT_TRUE(Contains(out, "fan: branch 1")) << out;
  // Braces balance, so the output is at least structurally valid DOT.
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < out.size(); ++i) {
    const char c = out[i];
    if (c == '\\' && in_string) {
      ++i;
    } else if (c == '"') {
      in_string = !in_string;
    } else if (!in_string && c == '{') {
      ++depth;
    } else if (!in_string && c == '}') {
      --depth;
      EXPECT_GE(depth, 0) << out;
    }
  }
  EXPECT_EQ(depth, 0) << out;
  EXPECT_FALSE(in_string) << out;
}

TEST(GraphTest, MapIteratorIsAClusterToo) {
  CompileResult result =
      CompileDefinition(R"json({"name": "mapper", "start_at": "m", "steps": {
      "m": {"type": "map", "items": "$.input.list",
            "iterator": {"start_at": "each", "steps": {
                "each": {"type": "task", "activity": "x.y"}}}}}})json");
  ASSERT_TRUE(result.ok()) << FormatErrors(result.error());
  const std::string mermaid =
      RenderGraph(*result.value(), GraphFormat::kMermaid);
  EXPECT_TRUE(Contains(mermaid, "subgraph")) << mermaid;
  EXPECT_TRUE(Contains(mermaid, "each item")) << mermaid;
  const std::string dot = RenderGraph(*result.value(), GraphFormat::kDot);
  EXPECT_TRUE(Contains(dot, "subgraph cluster_")) << dot;
  EXPECT_TRUE(Contains(dot, "map over $.input.list")) << dot;
}

TEST(GraphTest, ShortenedLabelsCutOnACharacterBoundary) {
  // The catch label "catch éééé..." is cut to 60 bytes; a cut inside a
  // two-byte 'é' would leave invalid UTF-8 in the drawing.
  std::string name;
  for (int i = 0; i < 40; ++i) name += "\xc3\xa9";
  for (const std::string& prefix : {std::string(""), std::string("x")}) {
    CompileResult result = CompileDefinition(
        R"json({"name": "accents", "start_at": "a", "steps": {
        "a": {"type": "task", "activity": "x",
              "catch": [{"errors": [")json" +
        prefix + name + R"json("], "next": "h"}]},
        "h": {"type": "succeed"}}})json");
    ASSERT_TRUE(result.ok()) << FormatErrors(result.error());
    for (GraphFormat format : {GraphFormat::kMermaid, GraphFormat::kDot}) {
      const std::string out = RenderGraph(*result.value(), format);
      EXPECT_NO_THROW(Json(out).dump()) << prefix;  // Strict about UTF-8.
      EXPECT_TRUE(Contains(out, "\xc3\xa9...")) << out;
    }
  }
}

TEST(GraphTest, QuotesInLabelsAreEscaped) {
  CompileResult result = CompileDefinition(
      R"json({"name": "quotes", "start_at": "route", "steps": {
      "route": {"type": "choice",
                "choices": [{"when": {"path": "$.input.x", "op": "==", "value": "say \"hi\""},
                             "next": "done"}]},
      "done": {"type": "succeed"}}})json");
  ASSERT_TRUE(result.ok()) << FormatErrors(result.error());
  const std::string mermaid =
      RenderGraph(*result.value(), GraphFormat::kMermaid);
  EXPECT_TRUE(Contains(mermaid, "#quot;")) << mermaid;
  const std::string dot = RenderGraph(*result.value(), GraphFormat::kDot);
  EXPECT_TRUE(Contains(dot, "\\\"")) << dot;
}

}  // namespace
}  // namespace sagaflow::dsl

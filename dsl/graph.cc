#include "dsl/graph.h"

#include <vector>

namespace sagaflow::dsl {
namespace {

enum class Shape { kTerminal, kBox, kDiamond, kJoin, kCompensation };

struct Node {
  std::string id;
  std::string label;
  Shape shape;
};

struct Edge {
  std::string from;
  std::string to;
  std::string label;
  bool dashed = false;
};

struct Cluster {
  std::string id;
  std::string label;
  std::vector<std::string> nodes;
};

// The drawing, independent of the output syntax.
struct Graph {
  std::vector<Node> nodes;
  std::vector<Edge> edges;
  std::vector<Cluster> clusters;
};

constexpr size_t kMaxLabel = 60;

// At most kMaxLabel bytes, cut on a UTF-8 character boundary (never inside a
// multibyte character, which would leave invalid UTF-8 in the drawing).
std::string Shorten(std::string text) {
  if (text.size() > kMaxLabel) {
    size_t cut = kMaxLabel - 3;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xc0) == 0x80)
      --cut;
    text.resize(cut);
    text += "...";
  }
  return text;
}

std::string StepId(StepIndex i) { return "s" + std::to_string(i); }
std::string JoinId(StepIndex i) { return "j" + std::to_string(i); }
std::string CompId(StepIndex i) { return "c" + std::to_string(i); }

std::string StepLabel(const Step& step) {
  std::string label = step.name + "\n";
  switch (step.type) {
    case StepType::kTask:
      return label + "task: " + step.task().activity;
    case StepType::kWait:
      if (step.wait().duration)
        return label + "wait " + FormatDuration(*step.wait().duration);
      if (step.wait().until_time)
        return label + "wait until " + FormatRfc3339(*step.wait().until_time);
      return label + "wait until " +
             (step.wait().until_path ? step.wait().until_path->text() : "");
    case StepType::kSignal:
      return label + "signal: " + step.signal().signal;
    case StepType::kMap:
      return label + "map over " + step.map().items.text();
    case StepType::kFail:
      return label + "fail: " + step.fail().error;
    default:
      return label + std::string(StepTypeName(step.type));
  }
}

Graph Build(const Plan& plan) {
  Graph g;
  g.nodes.push_back({"n_start", "start", Shape::kTerminal});
  g.nodes.push_back({"n_end", "end", Shape::kTerminal});
  bool any_fail = false;

  // Where control goes when a step of `scope` has no next: the run's end or the
  // owner's join.
  auto scope_exit = [&](ScopeIndex scope) {
    const StepIndex owner = plan.scope(scope).owner;
    return owner == kNoStep ? std::string("n_end") : JoinId(owner);
  };

  g.edges.push_back({"n_start", StepId(plan.start()), "", false});
  for (const Step& step : plan.steps()) {
    const std::string id = StepId(step.index);
    g.nodes.push_back(
        {id, StepLabel(step),
         step.type == StepType::kChoice ? Shape::kDiamond : Shape::kBox});
    auto target = [&](StepIndex next) {
      return next == kNoStep ? scope_exit(step.scope) : StepId(next);
    };
    switch (step.type) {
      case StepType::kChoice:
        for (const ChoiceRule& rule : step.choice().choices) {
          g.edges.push_back(
              {id, StepId(rule.next), Shorten(rule.when.description()), false});
        }
        if (step.choice().default_next) {
          g.edges.push_back(
              {id, StepId(*step.choice().default_next), "default", false});
        }
        break;
      case StepType::kSucceed:
        g.edges.push_back({id, scope_exit(step.scope), "", false});
        break;
      case StepType::kFail:
        any_fail = true;
        g.edges.push_back({id, "n_failed", "", false});
        break;
      case StepType::kParallel:
      case StepType::kMap: {
        g.nodes.push_back(
            {JoinId(step.index), "join " + step.name, Shape::kJoin});
        std::vector<ScopeIndex> scopes =
            step.type == StepType::kParallel
                ? step.parallel().branches
                : std::vector<ScopeIndex>{step.map().iterator};
        for (size_t b = 0; b < scopes.size(); ++b) {
          const std::string label = step.type == StepType::kParallel
                                        ? "branch " + std::to_string(b + 1)
                                        : "each item";
          g.edges.push_back(
              {id, StepId(plan.scope(scopes[b]).start), label, false});
          Cluster cluster{"cluster_" + std::to_string(scopes[b]),
                          step.name + ": " + label,
                          {}};
          for (StepIndex s : plan.scope(scopes[b]).steps)
            cluster.nodes.push_back(StepId(s));
          g.clusters.push_back(std::move(cluster));
        }
        g.edges.push_back({JoinId(step.index), target(step.next), "", false});
        break;
      }
      default:
        g.edges.push_back({id, target(step.next), "", false});
        break;
    }
    for (const CatchRule& rule : step.catches) {
      std::string errors;
      for (const std::string& e : rule.errors)
        errors += (errors.empty() ? "" : ", ") + e;
      g.edges.push_back(
          {id, StepId(rule.next), Shorten("catch " + errors), false});
    }
    if (step.type == StepType::kTask && step.task().compensate) {
      g.nodes.push_back({CompId(step.index),
                         "undo: " + step.task().compensate->activity,
                         Shape::kCompensation});
      g.edges.push_back({id, CompId(step.index), "compensate", true});
    }
  }
  if (any_fail) g.nodes.push_back({"n_failed", "failed", Shape::kTerminal});
  return g;
}

std::string MermaidText(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '"') {
      out += "#quot;";
    } else if (c == '\n') {
      out += "<br/>";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string DotText(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string RenderMermaid(const Plan& plan, const Graph& g) {
  std::string out =
      "---\ntitle: " + MermaidText(plan.name()) + "\n---\nflowchart TD\n";
  auto node_line = [&](const Node& n, const char* indent) {
    const std::string label = "\"" + MermaidText(n.label) + "\"";
    out += indent + n.id;
    switch (n.shape) {
      case Shape::kTerminal:
        out += "((" + label + "))";
        break;
      case Shape::kDiamond:
        out += "{" + label + "}";
        break;
      case Shape::kJoin:
        out += "[[" + label + "]]";
        break;
      case Shape::kCompensation:
        out += ">" + label + "]";
        break;
      case Shape::kBox:
        out += "[" + label + "]";
        break;
    }
    out += "\n";
  };
  std::vector<bool> in_cluster(g.nodes.size(), false);
  for (const Cluster& c : g.clusters) {
    out += "  subgraph " + c.id + " [\"" + MermaidText(c.label) + "\"]\n";
    for (const std::string& id : c.nodes) {
      for (size_t i = 0; i < g.nodes.size(); ++i) {
        if (g.nodes[i].id == id) {
          node_line(g.nodes[i], "    ");
          in_cluster[i] = true;
        }
      }
    }
    out += "  end\n";
  }
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (!in_cluster[i]) node_line(g.nodes[i], "  ");
  }
  for (const Edge& e : g.edges) {
    out += "  " + e.from + (e.dashed ? " -.->" : " -->");
    if (!e.label.empty()) out += "|\"" + MermaidText(e.label) + "\"|";
    out += " " + e.to + "\n";
  }
  return out;
}

std::string RenderDot(const Plan& plan, const Graph& g) {
  std::string out =
      "digraph \"" + DotText(plan.name()) +
      "\" {\n  rankdir=TB;\n"
      "  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n"
      "  edge [fontname=\"Helvetica\", fontsize=10];\n";
  auto node_line = [&](const Node& n, const char* indent) {
    out += indent + n.id + " [label=\"" + DotText(n.label) + "\"";
    switch (n.shape) {
      case Shape::kTerminal:
        out += ", shape=circle";
        break;
      case Shape::kDiamond:
        out += ", shape=diamond, style=\"\"";
        break;
      case Shape::kJoin:
        out += ", shape=box, style=\"rounded,dashed\"";
        break;
      case Shape::kCompensation:
        out += ", shape=note, style=dashed";
        break;
      case Shape::kBox:
        break;
    }
    out += "];\n";
  };
  std::vector<bool> in_cluster(g.nodes.size(), false);
  for (const Cluster& c : g.clusters) {
    out +=
        "  subgraph " + c.id + " {\n    label=\"" + DotText(c.label) + "\";\n";
    for (const std::string& id : c.nodes) {
      for (size_t i = 0; i < g.nodes.size(); ++i) {
        if (g.nodes[i].id == id) {
          node_line(g.nodes[i], "    ");
          in_cluster[i] = true;
        }
      }
    }
    out += "  }\n";
  }
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (!in_cluster[i]) node_line(g.nodes[i], "  ");
  }
  for (const Edge& e : g.edges) {
    out += "  " + e.from + " -> " + e.to;
    std::string attrs;
    if (!e.label.empty()) attrs += "label=\"" + DotText(e.label) + "\"";
    if (e.dashed)
      attrs += std::string(attrs.empty() ? "" : ", ") + "style=dashed";
    if (!attrs.empty()) out += " [" + attrs + "]";
    out += ";\n";
  }
  out += "}\n";
  return out;
}

}  // namespace

std::optional<GraphFormat> ParseGraphFormat(std::string_view name) {
  if (name == "mermaid") return GraphFormat::kMermaid;
  if (name == "dot") return GraphFormat::kDot;
  return std::nullopt;
}

std::string RenderGraph(const Plan& plan, GraphFormat format) {
  const Graph g = Build(plan);
  return format == GraphFormat::kMermaid ? RenderMermaid(plan, g)
                                         : RenderDot(plan, g);
}

}  // namespace sagaflow::dsl

// Small statistics helpers the benchmark programs share.
#ifndef SAGAFLOW_BENCH_STATS_H_
#define SAGAFLOW_BENCH_STATS_H_

#include <algorithm>
#include <vector>

namespace sagaflow::bench {

// The p-th percentile (0-100) of `values` by nearest rank; 0 when empty.
inline double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t i = std::min(values.size() - 1,
                            static_cast<size_t>(p / 100.0 * values.size()));
  return values[i];
}

}  // namespace sagaflow::bench

#endif  // SAGAFLOW_BENCH_STATS_H_

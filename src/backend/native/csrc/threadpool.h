// Counters of the native thread pool (threadpool.cc), for finding out whether a workload's
// parallel regions get their helper threads: native only (the wasm runtime has its own).
#pragma once
#include <cstdint>

namespace par {

// Totals since the addon was loaded (take differences around a workload).
struct PoolCounters {
  std::uint64_t regions;                    // multi-task regions published to the workers
  std::uint64_t helper_tasks;               // tasks a worker began
  std::uint64_t caller_taken_tasks;         // tasks the caller ran because no worker had begun them
  std::uint64_t helpers_parked_at_publish;  // Σ over regions of the workers asleep when published
};
PoolCounters pool_counters();

}  // namespace par

// parallel_for: the CPU launchers' thread pool. The calling thread always works through the
// chunks itself, and returns once every chunk is done; pool threads join in as they get CPU
// time. Unlike an OpenMP parallel region, nothing waits for a thread that never started: on a
// machine with more runnable threads than cores, an OpenMP barrier waited for a descheduled
// team member on every call (a 1.3 ms single-threaded RGB->I420 took 50 ms with 2 threads at a
// load average of 13), while this degrades to the caller doing the work alone.
#pragma once

#include <functional>

namespace dh {

// Calls fn(begin, end) over [0, n) in chunks of `grain` items, on the caller and the pool.
// fn must be safe to run concurrently on disjoint ranges. Thread count: DHSDK_NUM_THREADS,
// else OMP_NUM_THREADS, else the hardware's; 1 runs everything on the caller.
void parallel_for(int n, int grain, const std::function<void(int, int)>& fn);

// The number of threads parallel_for uses (the caller included).
int parallel_threads();

}  // namespace dh

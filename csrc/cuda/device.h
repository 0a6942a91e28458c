// Plain C++ view of the CUDA device query, so host-only translation units (bindings) can
// use it without CUDA headers.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace dh {

struct DeviceInfo {
  int index;
  std::string name;
  int major, minor;         // compute capability
  std::size_t total_memory; // bytes
  int multiprocessors;
};

struct DeviceQuery {
  int driver_version = 0;   // 0 when no driver is installed
  int runtime_version = 0;  // the statically linked cudart
  std::string error;        // empty when the device count could be read
  std::vector<DeviceInfo> devices;
};

DeviceQuery cuda_query();

}  // namespace dh

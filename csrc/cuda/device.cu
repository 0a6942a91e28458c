// Device queries: the only CUDA calls made outside a kernel launcher.
#include <cuda_runtime.h>

#include <string>

#include "cuda/device.h"

namespace dh {

DeviceQuery cuda_query() {
  DeviceQuery q;
  int driver = 0;
  cudaDriverGetVersion(&driver);
  q.driver_version = driver;
  int runtime = 0;
  cudaRuntimeGetVersion(&runtime);
  q.runtime_version = runtime;
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    q.error = std::string(cudaGetErrorName(err)) + ": " + cudaGetErrorString(err);
    cudaGetLastError();  // clear the sticky error so later calls report their own
    return q;
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) continue;
    q.devices.push_back(DeviceInfo{i, prop.name, prop.major, prop.minor, prop.totalGlobalMem,
                                   prop.multiProcessorCount});
  }
  return q;
}

}  // namespace dh

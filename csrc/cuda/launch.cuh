// Generic __global__ wrapper around a DH_HD kernel body (see csrc/kernels/common.h) and the
// error handling every CUDA launcher shares.
#pragma once

#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

#include "kernels/common.h"

namespace dh {

template <typename Params, void (*Body)(const Thread&, const Params&)>
__global__ void run_body(Params p) {
  Body(Thread{Dim{blockIdx.x, blockIdx.y, blockIdx.z}, Dim{threadIdx.x, threadIdx.y, threadIdx.z},
              Dim{blockDim.x, blockDim.y, blockDim.z}},
       p);
}

// Throws std::runtime_error naming the operation and the CUDA error (e.g. no driver).
inline void cuda_check(cudaError_t err, const char* what) {
  if (err != cudaSuccess) {
    throw std::runtime_error(std::string("dhsdk CUDA error in ") + what + ": " +
                             cudaGetErrorString(err) + " (" + cudaGetErrorName(err) + ")");
  }
}

template <typename Params, void (*Body)(const Thread&, const Params&)>
void launch(Dim grid, Dim block, const Params& p, cudaStream_t stream, const char* what) {
  run_body<Params, Body><<<dim3(grid.x, grid.y, grid.z), dim3(block.x, block.y, block.z), 0, stream>>>(p);
  cuda_check(cudaGetLastError(), what);
}

// A batch as table launches (csrc/kernels/common.h ParamTable): each table goes by value into
// the kernel's parameter bank, so nothing is uploaded or freed and the launches can be captured
// in a CUDA graph.
template <typename P, void (*Body)(const Thread&, const P&), typename GridFn>
void launch_table(const P* items, int count, GridFn grid, cudaStream_t stream, const char* what) {
  for_each_table(items, count, [&](const ParamTable<P>& t) {
    launch<ParamTable<P>, table_body<P, Body>>(table_grid(t, grid), kBlock2d, t, stream, what);
  });
}

}  // namespace dh

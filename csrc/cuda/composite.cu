// CUDA launcher of the composite kernel (csrc/kernels/composite.h) on a caller-given stream.
#include "cuda/launch.cuh"
#include "cuda/launchers.h"

namespace dh {

void composite_cuda(const CompositeParams& p, void* stream) {
  launch<CompositeParams, composite_body>(composite_grid(p), kBlock2d, p, static_cast<cudaStream_t>(stream),
                                          "composite kernel launch");
}

void composite_batch_cuda(const CompositeParams* items, int count, void* stream) {
  launch_table<CompositeParams, composite_body>(items, count, composite_grid, static_cast<cudaStream_t>(stream), "composite kernel launch");
}

}  // namespace dh

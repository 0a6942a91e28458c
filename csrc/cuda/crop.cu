// CUDA launcher of the fused crop pre-processor (csrc/kernels/crop.h) on a caller-given stream.
#include "cuda/launch.cuh"
#include "cuda/launchers.h"

namespace dh {

void crop_batch_cuda(const CropParams* items, int count, void* stream) {
  launch_table<CropParams, crop_body>(items, count, crop_grid, static_cast<cudaStream_t>(stream), "crop kernel launch");
}

}  // namespace dh

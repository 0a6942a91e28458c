// CUDA launcher of the fused crop pre-processor (csrc/kernels/crop.h) on a caller-given stream.
#include "cuda/launch.cuh"
#include "cuda/launchers.h"

namespace dh {

void crop_cuda(const CropParams& p, void* stream) {
  launch<CropParams, crop_body>(crop_grid(p), kBlock2d, p, static_cast<cudaStream_t>(stream), "crop kernel launch");
}

}  // namespace dh

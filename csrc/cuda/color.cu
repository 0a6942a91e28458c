// CUDA launcher of the RGB -> I420/NV12 conversion (csrc/kernels/color.h) on a caller-given stream.
#include "cuda/launch.cuh"
#include "cuda/launchers.h"

namespace dh {

void color_cuda(const ColorParams& p, void* stream) {
  launch<ColorParams, color_body>(color_grid(p), kBlock2d, p, static_cast<cudaStream_t>(stream), "color kernel launch");
}

void color_batch_cuda(const ColorParams* items, int count, void* stream) {
  launch_table<ColorParams, color_body>(items, count, color_grid, static_cast<cudaStream_t>(stream), "color kernel launch");
}

}  // namespace dh

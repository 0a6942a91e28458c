// CPU launchers of the fused crop pre-processor (csrc/kernels/crop.h).
#include "cpu/emulate.h"
#include "cpu/kernels_cpu.h"

namespace dh {

void crop_cpu(const CropParams& p) {
#pragma omp parallel for collapse(2) schedule(static)
  for (int b = 0; b < p.batch; ++b)
    for (int y = 0; y < p.size; ++y)
      for (int x = 0; x < p.size; ++x) crop_pixel(p, x, y, b);
}

void crop_emulated(const CropParams& p) {
  emulate_launch<CropParams, crop_body>(crop_grid(p), kBlock2d, p);
}

}  // namespace dh

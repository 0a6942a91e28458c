// CPU launchers of the RGB -> I420/NV12 conversion (csrc/kernels/color.h).
#include "cpu/emulate.h"
#include "cpu/kernels_cpu.h"

namespace dh {

void color_cpu(const ColorParams& p) {
#pragma omp parallel for schedule(static)
  for (int by = 0; by < p.height / 2; ++by)
    for (int bx = 0; bx < p.width / 2; ++bx) color_block(p, bx, by);
}

void color_emulated(const ColorParams& p) {
  emulate_launch<ColorParams, color_body>(color_grid(p), kBlock2d, p);
}

}  // namespace dh

// CPU launchers of the composite kernel (csrc/kernels/composite.h).
#include "cpu/emulate.h"
#include "cpu/kernels_cpu.h"

namespace dh {

namespace {

template <int CropType>
void composite_rows(const CompositeParams& p) {
#pragma omp parallel for schedule(static)
  for (int y = 0; y < p.roi_h; ++y)
    for (int x = 0; x < p.roi_w; ++x) composite_pixel_t<CropType>(p, p.x0 + x, p.y0 + y);
}

}  // namespace

// The crop-type dispatch of composite_pixel, hoisted out of the pixel loop.
void composite_cpu(const CompositeParams& p) {
  if (p.crop_type == kU8) composite_rows<kU8>(p);
  else if (p.crop_type == kF32) composite_rows<kF32>(p);
  else composite_rows<kF16>(p);
}

void composite_emulated(const CompositeParams& p) {
  emulate_launch<CompositeParams, composite_body>(composite_grid(p), kBlock2d, p);
}

}  // namespace dh

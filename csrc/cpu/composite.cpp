// CPU launchers of the composite kernel (csrc/kernels/composite.h): one row at a time with the
// crop type, alpha kind and channel count fixed at compile time, the per-pixel early returns of
// the GPU body turned into selects so the row loop vectorises; OpenMP over rows, and over
// frames x rows for a batch.
#include <algorithm>
#include <vector>

#include "cpu/emulate.h"
#include "cpu/kernels_cpu.h"

namespace dh {

namespace {

// Row y of the ROI. Same arithmetic as composite_pixel_t (bit for bit: the host build does not
// contract a*b+c into FMAs), a pixel outside the crop or at alpha <= 0 keeps its value.
template <int CropType, int Alpha, int Channels>
void composite_row(const CompositeParams& p, int y) {
  uint8_t* row = p.frame + static_cast<long long>(y) * p.width * Channels;
  const float fy = static_cast<float>(y);
  const int x1 = p.x0 + p.roi_w;
#pragma omp simd
  for (int x = p.x0; x < x1; ++x) {
    const Point s = apply(p.inv, static_cast<float>(x), fy);
    const Taps t = bilinear_taps(s.x, s.y, p.size, p.size);
    const float alpha = t.inside ? composite_alpha<Alpha>(p, s, t) : 0.f;
    uint8_t* px = row + x * Channels;
    for (int c = 0; c < 3; ++c) {
      const uint8_t v = composite_blend<CropType>(p, t, c, px[c], alpha);
      px[c] = alpha > 0.f ? v : px[c];
    }
  }
}

using RowFn = void (*)(const CompositeParams&, int);

template <int CropType, int Alpha>
RowFn row_fn_c(int channels) {
  return channels == 4 ? composite_row<CropType, Alpha, 4> : composite_row<CropType, Alpha, 3>;
}

template <int CropType>
RowFn row_fn_a(const CompositeParams& p) {
  const int a = alpha_kind(p);
  if (a == kAlphaOne) return row_fn_c<CropType, kAlphaOne>(p.channels);
  if (a == kAlphaArray) return row_fn_c<CropType, kAlphaArray>(p.channels);
  return row_fn_c<CropType, kAlphaShape>(p.channels);
}

// The row function for p's crop type, alpha kind and channel count.
RowFn row_fn(const CompositeParams& p) {
  if (p.crop_type == kU8) return row_fn_a<kU8>(p);
  if (p.crop_type == kF32) return row_fn_a<kF32>(p);
  return row_fn_a<kF16>(p);
}

}  // namespace

void composite_cpu(const CompositeParams& p) {
  const RowFn fn = row_fn(p);
#pragma omp parallel for schedule(dynamic, 16)
  for (int y = 0; y < p.roi_h; ++y) fn(p, p.y0 + y);
}

void composite_batch_cpu(const CompositeParams* items, int count) {
  // (item, row) pairs in item order: the rows of every frame shared out among the threads.
  std::vector<int> start(count + 1, 0);
  std::vector<RowFn> fns(count);
  for (int i = 0; i < count; ++i) {
    start[i + 1] = start[i] + items[i].roi_h;
    fns[i] = row_fn(items[i]);
  }
  const int rows = start[count];
#pragma omp parallel for schedule(dynamic, 16)
  for (int r = 0; r < rows; ++r) {
    const int i = static_cast<int>(std::upper_bound(start.begin(), start.end(), r) - start.begin()) - 1;
    fns[i](items[i], items[i].y0 + r - start[i]);
  }
}

void composite_emulated(const CompositeParams& p) {
  emulate_launch<CompositeParams, composite_body>(composite_grid(p), kBlock2d, p);
}

void composite_batch_emulated(const CompositeParams* items, int count) {
  emulate_table<CompositeParams, composite_body>(items, count, composite_grid);
}

}  // namespace dh

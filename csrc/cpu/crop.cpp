// CPU launchers of the fused crop pre-processor (csrc/kernels/crop.h): one output row at a
// time with the output type, layout and channel count fixed at compile time (the row loop
// vectorises); OpenMP over (crop, row), and over frames x rows for a batch.
#include <algorithm>
#include <vector>

#include "cpu/emulate.h"
#include "cpu/kernels_cpu.h"

namespace dh {

namespace {

template <int OutType, int Nchw, int Channels>
void crop_row(const CropParams& p, int y, int b) {
#pragma omp simd
  for (int x = 0; x < p.size; ++x) crop_pixel_t<OutType, Nchw, Channels>(p, x, y, b);
}

using RowFn = void (*)(const CropParams&, int, int);

template <int OutType, int Nchw>
RowFn row_fn_c(int channels) {
  return channels == 4 ? crop_row<OutType, Nchw, 4> : crop_row<OutType, Nchw, 3>;
}

RowFn row_fn(const CropParams& p) {
  if (p.out_type == kU8) return row_fn_c<kU8, 0>(p.channels);
  if (p.out_type == kF32) return p.nchw ? row_fn_c<kF32, 1>(p.channels) : row_fn_c<kF32, 0>(p.channels);
  return p.nchw ? row_fn_c<kF16, 1>(p.channels) : row_fn_c<kF16, 0>(p.channels);
}

}  // namespace

void crop_cpu(const CropParams& p) {
  const RowFn fn = row_fn(p);
  const int rows = p.batch * p.size;
#pragma omp parallel for schedule(dynamic, 8)
  for (int r = 0; r < rows; ++r) fn(p, r % p.size, r / p.size);
}

void crop_batch_cpu(const CropParams* items, int count) {
  std::vector<int> start(count + 1, 0);
  std::vector<RowFn> fns(count);
  for (int i = 0; i < count; ++i) {
    start[i + 1] = start[i] + items[i].batch * items[i].size;
    fns[i] = row_fn(items[i]);
  }
  const int rows = start[count];
#pragma omp parallel for schedule(dynamic, 8)
  for (int r = 0; r < rows; ++r) {
    const int i = static_cast<int>(std::upper_bound(start.begin(), start.end(), r) - start.begin()) - 1;
    const int k = r - start[i];
    fns[i](items[i], k % items[i].size, k / items[i].size);
  }
}

void crop_emulated(const CropParams& p) {
  emulate_launch<CropParams, crop_body>(crop_grid(p), kBlock2d, p);
}

void crop_batch_emulated(const CropParams* items, int count) {
  emulate_table<CropParams, crop_body>(items, count, crop_grid);
}

}  // namespace dh

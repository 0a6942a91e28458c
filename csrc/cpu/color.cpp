// CPU launchers of the RGB -> I420/NV12 conversion (csrc/kernels/color.h): per pair of rows,
// the luma of each row and then the chroma of each 2 x 2 block, with the channel count and
// order fixed at compile time so both loops vectorise (integer arithmetic: the same bits as
// color_block); OpenMP over row pairs, and over frames x row pairs for a batch.
#include <algorithm>
#include <vector>

#include "cpu/emulate.h"
#include "cpu/kernels_cpu.h"

namespace dh {

namespace {

// Row pair by (rows 2 by and 2 by + 1) and its chroma row.
template <int Channels, int Bgr>
void color_rows(const ColorParams& p, int by) {
  constexpr int ri = Bgr ? 2 : 0, bi = Bgr ? 0 : 2;
  const ColorCoeffs k = p.k;
  const int w = p.width;
  const uint8_t* in0 = p.frame + 2LL * by * w * Channels;
  const uint8_t* in1 = in0 + static_cast<long long>(w) * Channels;
  uint8_t* y0 = p.out + 2LL * by * w;
  uint8_t* y1 = y0 + w;
#pragma omp simd
  for (int x = 0; x < w; ++x) {
    const uint8_t* a = in0 + x * Channels;
    const uint8_t* b = in1 + x * Channels;
    y0[x] = color_luma(k, a[ri], a[1], a[bi]);
    y1[x] = color_luma(k, b[ri], b[1], b[bi]);
  }
  const long long luma = static_cast<long long>(p.height) * w;
  const int cw = w / 2;
  uint8_t* u = p.out + luma + static_cast<long long>(by) * (p.nv12 ? w : cw);
  uint8_t* v = p.nv12 ? u + 1 : p.out + luma + static_cast<long long>(cw) * (p.height / 2) + static_cast<long long>(by) * cw;
  const int step = p.nv12 ? 2 : 1;
#pragma omp simd
  for (int bx = 0; bx < cw; ++bx) {
    const uint8_t* a = in0 + 2 * bx * Channels;
    const uint8_t* b = in1 + 2 * bx * Channels;
    const int rs = a[ri] + a[ri + Channels] + b[ri] + b[ri + Channels];
    const int gs = a[1] + a[1 + Channels] + b[1] + b[1 + Channels];
    const int bs = a[bi] + a[bi + Channels] + b[bi] + b[bi + Channels];
    u[bx * step] = color_u(k, rs, gs, bs);
    v[bx * step] = color_v(k, rs, gs, bs);
  }
}

using RowsFn = void (*)(const ColorParams&, int);

RowsFn rows_fn(const ColorParams& p) {
  const bool bgr = p.r_index == 2;
  if (p.channels == 4) return bgr ? color_rows<4, 1> : color_rows<4, 0>;
  return bgr ? color_rows<3, 1> : color_rows<3, 0>;
}

}  // namespace

void color_cpu(const ColorParams& p) {
  const RowsFn fn = rows_fn(p);
#pragma omp parallel for schedule(dynamic, 16)
  for (int by = 0; by < p.height / 2; ++by) fn(p, by);
}

void color_batch_cpu(const ColorParams* items, int count) {
  std::vector<int> start(count + 1, 0);
  std::vector<RowsFn> fns(count);
  for (int i = 0; i < count; ++i) {
    start[i + 1] = start[i] + items[i].height / 2;
    fns[i] = rows_fn(items[i]);
  }
  const int pairs = start[count];
#pragma omp parallel for schedule(dynamic, 16)
  for (int r = 0; r < pairs; ++r) {
    const int i = static_cast<int>(std::upper_bound(start.begin(), start.end(), r) - start.begin()) - 1;
    fns[i](items[i], r - start[i]);
  }
}

void color_emulated(const ColorParams& p) {
  emulate_launch<ColorParams, color_body>(color_grid(p), kBlock2d, p);
}

void color_batch_emulated(const ColorParams* items, int count) {
  emulate_table<ColorParams, color_body>(items, count, color_grid);
}

}  // namespace dh

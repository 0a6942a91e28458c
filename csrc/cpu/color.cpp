// CPU launchers of the RGB -> I420/NV12 conversion (csrc/kernels/color.h): per pair of rows,
// with the channel count and order fixed at compile time so the loops vectorise; parallel_for over
// row pairs, and over frames x row pairs for a batch.
#include <algorithm>
#include <vector>

#include "cpu/emulate.h"
#include "cpu/kernels_cpu.h"
#include "cpu/parallel.h"

namespace dh {

namespace {

// Row pair by (rows 2 by and 2 by + 1) and its chroma row: one pass over the pixels computes both
// rows' luma and the per-column channel sums of the pair (into `sums`, 3 x width int16), a
// second pass adds neighbouring columns into each 2 x 2 block's sums for its chroma. Both
// passes vectorise; integer arithmetic, so the same bits as color_block.
template <int Channels, int Bgr, int Nv12>
void color_rows(const ColorParams& p, int by, int16_t* sums) {
  constexpr int ri = Bgr ? 2 : 0, bi = Bgr ? 0 : 2;
  const ColorCoeffs k = p.k;
  const int w = p.width;
  const uint8_t* __restrict in0 = p.frame + 2LL * by * w * Channels;
  const uint8_t* __restrict in1 = in0 + static_cast<long long>(w) * Channels;
  uint8_t* __restrict y0 = p.out + 2LL * by * w;
  uint8_t* __restrict y1 = y0 + w;
  int16_t* __restrict sr = sums;
  int16_t* __restrict sg = sums + w;
  int16_t* __restrict sb = sums + 2 * w;
#pragma omp simd
  for (int x = 0; x < w; ++x) {
    const uint8_t* a = in0 + x * Channels;
    const uint8_t* b = in1 + x * Channels;
    const int ar = a[ri], ag = a[1], ab = a[bi], br = b[ri], bg = b[1], bb = b[bi];
    y0[x] = color_luma(k, ar, ag, ab);
    y1[x] = color_luma(k, br, bg, bb);
    sr[x] = static_cast<int16_t>(ar + br);
    sg[x] = static_cast<int16_t>(ag + bg);
    sb[x] = static_cast<int16_t>(ab + bb);
  }
  const long long luma = static_cast<long long>(p.height) * w;
  const int cw = w / 2;
  uint8_t* u = p.out + luma + static_cast<long long>(by) * (Nv12 ? w : cw);
  uint8_t* v = Nv12 ? u + 1 : p.out + luma + static_cast<long long>(cw) * (p.height / 2) + static_cast<long long>(by) * cw;
  constexpr int step = Nv12 ? 2 : 1;
#pragma omp simd
  for (int bx = 0; bx < cw; ++bx) {
    const int rs = sr[2 * bx] + sr[2 * bx + 1], gs = sg[2 * bx] + sg[2 * bx + 1], bs = sb[2 * bx] + sb[2 * bx + 1];
    u[bx * step] = color_u(k, rs, gs, bs);
    v[bx * step] = color_v(k, rs, gs, bs);
  }
}

using RowsFn = void (*)(const ColorParams&, int, int16_t*);

template <int Channels, int Bgr>
RowsFn rows_fn_n(const ColorParams& p) {
  return p.nv12 ? color_rows<Channels, Bgr, 1> : color_rows<Channels, Bgr, 0>;
}

RowsFn rows_fn(const ColorParams& p) {
  const bool bgr = p.r_index == 2;
  if (p.channels == 4) return bgr ? rows_fn_n<4, 1>(p) : rows_fn_n<4, 0>(p);
  return bgr ? rows_fn_n<3, 1>(p) : rows_fn_n<3, 0>(p);
}

}  // namespace

void color_cpu(const ColorParams& p) {
  color_batch_cpu(&p, 1);
}

void color_batch_cpu(const ColorParams* items, int count) {
  std::vector<int> start(count + 1, 0);
  std::vector<RowsFn> fns(count);
  int width = 0;
  for (int i = 0; i < count; ++i) {
    start[i + 1] = start[i] + items[i].height / 2;
    fns[i] = rows_fn(items[i]);
    width = std::max(width, items[i].width);
  }
  const int pairs = start[count];
  parallel_for(pairs, 8, [&](int b, int e) {
    std::vector<int16_t> sums(3 * static_cast<std::size_t>(width));  // per chunk: 8 row pairs
    for (int r = b; r < e; ++r) {
      const int i = static_cast<int>(std::upper_bound(start.begin(), start.end(), r) - start.begin()) - 1;
      fns[i](items[i], r - start[i], sums.data());
    }
  });
}

void color_emulated(const ColorParams& p) {
  emulate_launch<ColorParams, color_body>(color_grid(p), kBlock2d, p);
}

void color_batch_emulated(const ColorParams* items, int count) {
  emulate_table<ColorParams, color_body>(items, count, color_grid);
}

}  // namespace dh

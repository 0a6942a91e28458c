// Shared per-pixel building blocks: compiled as __host__ __device__ under nvcc and as plain
// inline C++ elsewhere, so the CPU launchers (csrc/cpu) and the CUDA launchers (csrc/cuda)
// run the same arithmetic ("one body, two launchers", DESIGN.md).
//
// Conventions used by every kernel:
//   * images are HWC, row-major, contiguous; pixel centres sit at integer coordinates
//     (the OpenCV convention), so pixel (x, y) covers [x-0.5, x+0.5] x [y-0.5, y+0.5];
//   * an Affine maps (x, y) -> (a*x + b*y + c, d*x + e*y + f); kernels take the map from
//     *destination* pixels to *source* coordinates (inverse mapping) so every output pixel
//     is written exactly once.
#pragma once

#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define DH_HD __host__ __device__ __forceinline__
#else
#define DH_HD inline
#endif

namespace dh {

struct Affine {
  float a, b, c;  // x' = a*x + b*y + c
  float d, e, f;  // y' = d*x + e*y + f
};

struct Point {
  float x, y;
};

DH_HD Point apply(const Affine& m, float x, float y) {
  return Point{m.a * x + m.b * y + m.c, m.d * x + m.e * y + m.f};
}

// v clamped to [lo, hi] (lo <= hi; NaN stays NaN). Two flat selects rather than nested ones
// (or fminf/fmaxf, whose NaN rules x86 min/max do not follow): the form compilers vectorise.
DH_HD float clampf(float v, float lo, float hi) {
  const float a = v < lo ? lo : v;
  return a > hi ? hi : a;
}

DH_HD int clampi(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }

// Round-half-up then saturate to [0, 255].
DH_HD uint8_t saturate_u8(float v) { return static_cast<uint8_t>(clampf(v + 0.5f, 0.f, 255.f)); }

// Bilinear taps for a sample at (sx, sy) in an image of w x h pixels.
// `inside` is false when the sample lies outside the image's pixel area
// [-0.5, w-0.5] x [-0.5, h-0.5]; taps are clamped to the border (replicate) so a sample
// on the last half-pixel reads the edge pixel.
struct Taps {
  int x0, y0, x1, y1;
  float fx, fy;
  bool inside;
};

DH_HD Taps bilinear_taps(float sx, float sy, int w, int h) {
  Taps t;
  // & rather than &&: no short-circuit branches in pixel loops (the value is the same).
  t.inside = (sx >= -0.5f) & (sy >= -0.5f) & (sx <= w - 0.5f) & (sy <= h - 0.5f);
  const float cx = clampf(sx, 0.f, static_cast<float>(w - 1));
  const float cy = clampf(sy, 0.f, static_cast<float>(h - 1));
  const float flx = floorf(cx), fly = floorf(cy);
  t.x0 = static_cast<int>(flx);
  t.y0 = static_cast<int>(fly);
  t.x1 = t.x0 + 1 < w ? t.x0 + 1 : t.x0;
  t.y1 = t.y0 + 1 < h ? t.y0 + 1 : t.y0;
  t.fx = cx - flx;
  t.fy = cy - fly;
  return t;
}

// The bilinear blend of four taps (p00 p01 over p10 p11) at fractions fx, fy: every sampler's
// last step, in this one order of operations.
DH_HD float bilerp(float p00, float p01, float p10, float p11, float fx, float fy) {
  const float top = p00 + (p01 - p00) * fx;
  const float bot = p10 + (p11 - p10) * fx;
  return top + (bot - top) * fy;
}

// Interpolate channel `ch` of a `channels`-channel HWC image of element type T at taps `t`.
template <typename T>
DH_HD float bilinear(const T* img, int w, int channels, const Taps& t, int ch) {
  return bilerp(static_cast<float>(img[(t.y0 * w + t.x0) * channels + ch]),
                static_cast<float>(img[(t.y0 * w + t.x1) * channels + ch]),
                static_cast<float>(img[(t.y1 * w + t.x0) * channels + ch]),
                static_cast<float>(img[(t.y1 * w + t.x1) * channels + ch]), t.fx, t.fy);
}

// ---- launch geometry shared by the CUDA launchers and the CPU launch emulator ---------
// A kernel body is a DH_HD function `void body(const Thread&, const Params&)`. The CUDA
// launcher wraps it in a __global__ (csrc/cuda/launch.cuh); csrc/cpu/emulate.h runs the same
// body over the same grid on the host, so the index math and bounds checks the GPU runs are
// exercised by the CPU tests.
struct Dim {
  unsigned x, y, z;
};

struct Thread {
  Dim block_idx, thread_idx, block_dim;
  DH_HD int gx() const { return static_cast<int>(block_idx.x * block_dim.x + thread_idx.x); }
  DH_HD int gy() const { return static_cast<int>(block_idx.y * block_dim.y + thread_idx.y); }
  DH_HD int gz() const { return static_cast<int>(block_idx.z * block_dim.z + thread_idx.z); }
};

// Grid covering a w x h x depth domain with blocks of bx x by threads.
inline Dim grid_for(int w, int h, int depth, Dim block) {
  return Dim{(static_cast<unsigned>(w) + block.x - 1) / block.x,
             (static_cast<unsigned>(h) + block.y - 1) / block.y, static_cast<unsigned>(depth)};
}

// Thread-block shape of the image kernels (composite, crop, color): 32 x 8 threads, one warp
// per row segment. Their *_grid functions (next to each body) give the grid; the CUDA
// launchers and the emulated launches both take grid and block from there.
constexpr Dim kBlock2d{32, 8, 1};

// ---- batched launches: one parameter table per launch -----------------------------------
// A batch of N independent calls of one kernel (N frames, each with its own sizes and
// pointers) runs as launches over tables of up to ParamTable::kMax items passed by value, so
// the table sits in the kernel's constant parameter bank on a GPU (no upload, nothing to free,
// capturable in a CUDA graph). Grid z selects the item; x and y cover the largest item, and
// each item's body bounds-checks its own domain, so a table launch is its items' single
// launches side by side.
constexpr unsigned kTableBytes = 3840;  // under the 4 KiB kernel-parameter limit of every arch

template <typename P>
struct ParamTable {
  static constexpr int kMax = static_cast<int>(kTableBytes / sizeof(P));
  static_assert(kMax >= 8, "kernel parameters too large for a useful table");
  P items[kMax];
  int count;
};

// The body of item `block_idx.z` of a table, with the item's own z index 0.
template <typename P, void (*Body)(const Thread&, const P&)>
DH_HD void table_body(const Thread& th, const ParamTable<P>& t) {
  if (static_cast<int>(th.block_idx.z) >= t.count) return;
  Body(Thread{Dim{th.block_idx.x, th.block_idx.y, 0}, th.thread_idx, th.block_dim}, t.items[th.block_idx.z]);
}

// Calls fn(table) for consecutive tables holding items[0, count).
template <typename P, typename Fn>
inline void for_each_table(const P* items, int count, Fn fn) {
  ParamTable<P> t;
  for (int first = 0; first < count; first += ParamTable<P>::kMax) {
    t.count = count - first < ParamTable<P>::kMax ? count - first : ParamTable<P>::kMax;
    for (int i = 0; i < t.count; ++i) t.items[i] = items[first + i];
    fn(t);
  }
}

// Grid of a table launch: the per-item grids' x/y maxima, z = item count.
template <typename P, typename GridFn>
inline Dim table_grid(const ParamTable<P>& t, GridFn grid) {
  Dim g{1, 1, static_cast<unsigned>(t.count)};
  for (int i = 0; i < t.count; ++i) {
    const Dim d = grid(t.items[i]);
    g.x = d.x > g.x ? d.x : g.x;
    g.y = d.y > g.y ? d.y : g.y;
  }
  return g;
}

}  // namespace dh

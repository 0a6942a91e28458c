// CPU launchers of the fused crop pre-processor (csrc/kernels/crop.h): one output row at a
// time with the output type, layout and channel count fixed at compile time (the row's passes
// vectorise); parallel_for over the rows of all crops of a call.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "cpu/emulate.h"
#include "cpu/kernels_cpu.h"
#include "cpu/parallel.h"

namespace dh {

namespace {

// A byte of the frame read as part of a 32-bit word (the form the compiler gathers), from
// offset o; offsets in the last 3 bytes read the final word and shift (never past the end).
typedef int32_t __attribute__((may_alias, aligned(1))) word32;

inline float frame_byte(const uint8_t* frame, int o, int last_word) {
  const int oc = o < last_word ? o : last_word;
  return static_cast<float>((*reinterpret_cast<const word32*>(frame + oc) >> ((o - oc) * 8)) & 255);
}

constexpr int kChunk = 256;

// Output row y of the crop, in passes the compiler vectorises: every pixel's taps (byte offsets
// into the frame), then per channel its four taps gathered and blended (bilerp, as bilinear()
// does), the border, the normalisation and the store: the operations of crop_pixel_t.
template <int OutType, int Nchw, int Channels>
void crop_row(const CropParams& p, int y) {
  alignas(64) int o00[kChunk], o01[kChunk], o10[kChunk], o11[kChunk];
  alignas(64) float fx[kChunk], fy[kChunk], keep[kChunk], zero[kChunk];
  const Affine a = p.affine;
  const int W = p.width, H = p.height, S = p.size;
  const int last_word = H * W * Channels - 4;
  const bool replicate = p.border == kBorderReplicate;
  const long long plane = static_cast<long long>(S) * S;
  const float yf = static_cast<float>(y);
  for (int xs = 0; xs < S; xs += kChunk) {
    const int n = S - xs < kChunk ? S - xs : kChunk;
#pragma omp simd
    for (int i = 0; i < n; ++i) {
      const Point s = apply(a, static_cast<float>(xs + i), yf);
      const Taps t = bilinear_taps(s.x, s.y, W, H);
      o00[i] = (t.y0 * W + t.x0) * Channels;
      o01[i] = (t.y0 * W + t.x1) * Channels;
      o10[i] = (t.y1 * W + t.x0) * Channels;
      o11[i] = (t.y1 * W + t.x1) * Channels;
      fx[i] = t.fx;
      fy[i] = t.fy;
      keep[i] = (t.inside | replicate) ? 1.f : 0.f;
    }
    if (p.mask != nullptr) {
      const float* mrow = p.mask + static_cast<long long>(y) * S + xs;
#pragma omp simd
      for (int i = 0; i < n; ++i) zero[i] = mrow[i] > 0.5f ? 1.f : 0.f;
    } else {
      for (int i = 0; i < n; ++i) zero[i] = 0.f;
    }
    const long long pix = static_cast<long long>(y) * S + xs;
    for (int c = 0; c < 3; ++c) {
      const float mean = p.mean[c], inv_std = p.inv_std[c], border = p.border_value;
#pragma omp simd
      for (int i = 0; i < n; ++i) {
        const float sampled = bilerp(frame_byte(p.frame, o00[i] + c, last_word), frame_byte(p.frame, o01[i] + c, last_word),
                                     frame_byte(p.frame, o10[i] + c, last_word), frame_byte(p.frame, o11[i] + c, last_word),
                                     fx[i], fy[i]);
        const float v = keep[i] > 0.f ? sampled : border;
        const long long idx = Nchw ? c * plane + pix + i : (pix + i) * 3 + c;
        if (OutType == kU8) {
          static_cast<uint8_t*>(p.out)[idx] = zero[i] > 0.f ? 0 : saturate_u8(v);
        } else {
          const float nv = zero[i] > 0.f ? 0.f : (v * (1.f / 255.f) - mean) * inv_std;
          if (OutType == kF32) static_cast<float*>(p.out)[idx] = nv;
          else static_cast<uint16_t*>(p.out)[idx] = float_to_half(nv);
        }
      }
    }
  }
}

// Row y pixel by pixel (frames under 4 bytes, which a word cannot be read from).
void crop_row_scalar(const CropParams& p, int y) {
  for (int x = 0; x < p.size; ++x) crop_pixel(p, x, y);
}

using RowFn = void (*)(const CropParams&, int);

template <int OutType, int Nchw>
RowFn row_fn_c(int channels) {
  return channels == 4 ? crop_row<OutType, Nchw, 4> : crop_row<OutType, Nchw, 3>;
}

RowFn row_fn(const CropParams& p) {
  if (static_cast<long long>(p.height) * p.width * p.channels < 4) return crop_row_scalar;
  if (p.out_type == kU8) return row_fn_c<kU8, 0>(p.channels);
  if (p.out_type == kF32) return p.nchw ? row_fn_c<kF32, 1>(p.channels) : row_fn_c<kF32, 0>(p.channels);
  return p.nchw ? row_fn_c<kF16, 1>(p.channels) : row_fn_c<kF16, 0>(p.channels);
}

}  // namespace

void crop_batch_cpu(const CropParams* items, int count) {
  std::vector<int> start(count + 1, 0);
  std::vector<RowFn> fns(count);
  for (int i = 0; i < count; ++i) {
    start[i + 1] = start[i] + items[i].size;
    fns[i] = row_fn(items[i]);
  }
  const int rows = start[count];
  parallel_for(rows, 8, [&](int b, int e) {
    for (int r = b; r < e; ++r) {
      const int i = static_cast<int>(std::upper_bound(start.begin(), start.end(), r) - start.begin()) - 1;
      fns[i](items[i], r - start[i]);
    }
  });
}

void crop_batch_emulated(const CropParams* items, int count) {
  emulate_table<CropParams, crop_body>(items, count, crop_grid);
}

}  // namespace dh

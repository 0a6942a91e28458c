// CPU launchers of the composite kernel (csrc/kernels/composite.h): one row at a time with the
// crop type, alpha kind and channel count fixed at compile time, the per-pixel early returns of
// the GPU body turned into selects so the row loop vectorises; parallel_for over rows, and over
// frames x rows for a batch.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "cpu/emulate.h"
#include "cpu/kernels_cpu.h"
#include "cpu/parallel.h"

namespace dh {

namespace {

// The crop as its row loops read it, made once per call (the mask is read where it is). Planar
// (float crops): planes of 0..255 floats (R, G, B), the values load_255 gives, read with
// unconditional float gathers; plane c of an S x S crop starts at planes + c * S * S. Packed
// (uint8 crops): each crop pixel's R, G, B in one 32-bit word, so one gather fetches a tap's
// three channels (12 gathers a pixel become 4).
struct Prepared {
  std::vector<float> planes;
  std::vector<uint32_t> rgbx;
};

// Row y of the ROI. Same arithmetic as composite_pixel_t (bit for bit: the host build does not
// contract a*b+c into FMAs), a pixel outside the crop or at alpha <= 0 keeps its value.
template <int CropType, int Alpha, int Channels>
void composite_row(const CompositeParams& p, const Prepared&, int y) {
  uint8_t* row = p.frame + static_cast<long long>(y) * p.width * Channels;
  const float fy = static_cast<float>(y);
  const int x1 = p.x0 + p.roi_w;
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

template <int CropType>
void crop_planes(const CompositeParams& p, float* planes) {
  const int n = p.size * p.size;
  for (int i = 0; i < n; ++i)
    for (int c = 0; c < 3; ++c) planes[c * n + i] = load_255_t<CropType>(p.crop, 3 * i + c);
}

void crop_rgbx(const CompositeParams& p, uint32_t* out) {
  const uint8_t* c = static_cast<const uint8_t*>(p.crop);
  const int n = p.size * p.size;
#pragma omp simd
  for (int i = 0; i < n; ++i)
    out[i] = c[3 * i] | (static_cast<uint32_t>(c[3 * i + 1]) << 8) | (static_cast<uint32_t>(c[3 * i + 2]) << 16);
}

// The row loop (alpha one or from the mask array), in chunks of pixels and passes the compiler
// vectorises: the taps of every pixel; the four gathered taps of each value blended (bilerp, as
// bilinear() does); then alpha and the blend into the frame, where a pixel outside the crop gets
// alpha 0 and keeps its value. Same operations as composite_pixel_t. Packed: the taps' colour
// words come from prep.rgbx (uint8 crops); else from the planes.
constexpr int kChunk = 256;

template <int Alpha, int Channels, bool Packed>
void composite_row_fast(const CompositeParams& p, const Prepared& prep, int y) {
  alignas(64) int i00[kChunk], i01[kChunk], i10[kChunk], i11[kChunk];
  alignas(64) float fx[kChunk], fy[kChunk], v[4][kChunk];
  const int S = p.size, n2 = S * S;
  const Affine inv = p.inv;
  const float yf = static_cast<float>(y);
  const float* mask = p.mask;
  uint8_t* row = p.frame + static_cast<long long>(y) * p.width * Channels;
  for (int xs = p.x0; xs < p.x0 + p.roi_w; xs += kChunk) {
    const int n = p.x0 + p.roi_w - xs < kChunk ? p.x0 + p.roi_w - xs : kChunk;
#pragma omp simd
    for (int i = 0; i < n; ++i) {
      const Point s = apply(inv, static_cast<float>(xs + i), yf);
      const Taps t = bilinear_taps(s.x, s.y, S, S);
      i00[i] = t.y0 * S + t.x0;
      i01[i] = t.y0 * S + t.x1;
      i10[i] = t.y1 * S + t.x0;
      i11[i] = t.y1 * S + t.x1;
      fx[i] = t.fx;
      fy[i] = t.fy;
      const float a = Alpha == kAlphaArray
                          ? clampf(bilerp(mask[i00[i]], mask[i01[i]], mask[i10[i]], mask[i11[i]], t.fx, t.fy), 0.f, 1.f)
                          : 1.f;
      v[0][i] = t.inside ? a : 0.f;
    }
    if (Packed) {
      const uint32_t* rgbx = prep.rgbx.data();
#pragma omp simd
      for (int i = 0; i < n; ++i) {
        const uint32_t w00 = rgbx[i00[i]], w01 = rgbx[i01[i]], w10 = rgbx[i10[i]], w11 = rgbx[i11[i]];
        for (int c = 0; c < 3; ++c) {
          const int sh = 8 * c;
          v[c + 1][i] = bilerp(static_cast<float>((w00 >> sh) & 255u), static_cast<float>((w01 >> sh) & 255u),
                               static_cast<float>((w10 >> sh) & 255u), static_cast<float>((w11 >> sh) & 255u), fx[i], fy[i]);
        }
      }
    } else {
      for (int c = 0; c < 3; ++c) {
        const float* plane = prep.planes.data() + c * n2;
        float* out = v[c + 1];
#pragma omp simd
        for (int i = 0; i < n; ++i) out[i] = bilerp(plane[i00[i]], plane[i01[i]], plane[i10[i]], plane[i11[i]], fx[i], fy[i]);
      }
    }
    uint8_t* px = row + static_cast<long long>(xs) * Channels;
    for (int c = 0; c < 3; ++c) {
      const float* src = v[c + 1];
#pragma omp simd
      for (int i = 0; i < n; ++i) {
        const uint8_t b = blend_u8(px[i * Channels + c], src[i], v[0][i]);
        px[i * Channels + c] = v[0][i] > 0.f ? b : px[i * Channels + c];
      }
    }
  }
}

using RowFn = void (*)(const CompositeParams&, const Prepared&, int);

template <int CropType, int Alpha>
RowFn row_fn_c(int channels) {
  if (Alpha == kAlphaShape)
    return channels == 4 ? composite_row<CropType, Alpha, 4> : composite_row<CropType, Alpha, 3>;
  constexpr bool packed = CropType == kU8;
  return channels == 4 ? composite_row_fast<Alpha, 4, packed> : composite_row_fast<Alpha, 3, packed>;
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

// One call's prepared tables (none for the analytic shapes, which read the crop directly).
Prepared prepare(const CompositeParams& p) {
  Prepared prep;
  if (alpha_kind(p) == kAlphaShape) return prep;
  if (p.crop_type == kU8) {
    prep.rgbx.resize(static_cast<std::size_t>(p.size) * p.size);
    crop_rgbx(p, prep.rgbx.data());
    return prep;
  }
  prep.planes.resize(3 * static_cast<std::size_t>(p.size) * p.size);
  if (p.crop_type == kF32) crop_planes<kF32>(p, prep.planes.data());
  else crop_planes<kF16>(p, prep.planes.data());
  return prep;
}

}  // namespace

void composite_cpu(const CompositeParams& p) {
  composite_batch_cpu(&p, 1);
}

void composite_batch_cpu(const CompositeParams* items, int count) {
  // (item, row) pairs in item order: the rows of every frame shared out among the threads.
  std::vector<int> start(count + 1, 0);
  std::vector<RowFn> fns(count);
  std::vector<Prepared> prepared(count);
  for (int i = 0; i < count; ++i) {
    start[i + 1] = start[i] + items[i].roi_h;
    fns[i] = row_fn(items[i]);
  }
  parallel_for(count, 1, [&](int b, int e) {
    for (int i = b; i < e; ++i) prepared[i] = prepare(items[i]);
  });
  const int rows = start[count];
  parallel_for(rows, 8, [&](int b, int e) {
    for (int r = b; r < e; ++r) {
      const int i = static_cast<int>(std::upper_bound(start.begin(), start.end(), r) - start.begin()) - 1;
      fns[i](items[i], prepared[i], items[i].y0 + r - start[i]);
    }
  });
}

void composite_emulated(const CompositeParams& p) {
  emulate_launch<CompositeParams, composite_body>(composite_grid(p), kBlock2d, p);
}

void composite_batch_emulated(const CompositeParams* items, int count) {
  emulate_table<CompositeParams, composite_body>(items, count, composite_grid);
}

}  // namespace dh

// CPU launchers of the composite kernel (csrc/kernels/composite.h): one row at a time with the
// crop type, alpha kind and channel count fixed at compile time, the per-pixel early returns of
// the GPU body turned into selects so the row loop vectorises; parallel_for over rows, and over
// frames x rows for a batch.
#include <algorithm>
#include <vector>

#include "cpu/emulate.h"
#include "cpu/kernels_cpu.h"
#include "cpu/parallel.h"

namespace dh {

namespace {

// Row y of the ROI. Same arithmetic as composite_pixel_t (bit for bit: the host build does not
// contract a*b+c into FMAs), a pixel outside the crop or at alpha <= 0 keeps its value.
template <int CropType, int Alpha, int Channels>
void composite_row(const CompositeParams& p, const float*, int y) {
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

// The crop (and mask) as planes of 0..255 floats (R, G, B, alpha), the values load_255 and the
// mask lookup give, so the row loop below reads them with unconditional float gathers and
// vectorises. Plane k of an S x S crop starts at planes + k * S * S.
template <int CropType>
void crop_planes(const CompositeParams& p, float* planes) {
  const int n = p.size * p.size;
  for (int i = 0; i < n; ++i)
    for (int c = 0; c < 3; ++c) planes[c * n + i] = load_255_t<CropType>(p.crop, 3 * i + c);
  if (p.mask != nullptr)
    for (int i = 0; i < n; ++i) planes[3 * n + i] = p.mask[i];
}

// The row loop over the planes (alpha one or from the mask array), in chunks of pixels and
// passes the compiler vectorises: the taps of every pixel; per plane, its four gathered taps
// blended (bilerp, as bilinear() does); then alpha and the blend into the frame, where a pixel
// outside the crop gets alpha 0 and keeps its value. Same operations as composite_pixel_t.
constexpr int kChunk = 256;

template <int Alpha, int Channels>
void composite_row_planar(const CompositeParams& p, const float* planes, int y) {
  alignas(64) int i00[kChunk], i01[kChunk], i10[kChunk], i11[kChunk];
  alignas(64) float fx[kChunk], fy[kChunk], inside[kChunk], v[4][kChunk];
  const int S = p.size, n2 = S * S;
  const Affine inv = p.inv;
  const float yf = static_cast<float>(y);
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
      inside[i] = t.inside ? 1.f : 0.f;
    }
    for (int k = Alpha == kAlphaArray ? 0 : 1; k < 4; ++k) {
      const float* plane = planes + (k == 0 ? 3 : k - 1) * n2;  // v[0]: alpha, v[1..3]: R G B
      float* out = v[k];
#pragma omp simd
      for (int i = 0; i < n; ++i) out[i] = bilerp(plane[i00[i]], plane[i01[i]], plane[i10[i]], plane[i11[i]], fx[i], fy[i]);
    }
#pragma omp simd
    for (int i = 0; i < n; ++i) v[0][i] = (Alpha == kAlphaArray ? clampf(v[0][i], 0.f, 1.f) : 1.f) * inside[i];
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

using RowFn = void (*)(const CompositeParams&, const float*, int);

template <int CropType, int Alpha>
RowFn row_fn_c(int channels) {
  if (Alpha == kAlphaShape)
    return channels == 4 ? composite_row<CropType, Alpha, 4> : composite_row<CropType, Alpha, 3>;
  return channels == 4 ? composite_row_planar<Alpha, 4> : composite_row_planar<Alpha, 3>;
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

// One call's planes (empty for the analytic shapes, which read the crop directly).
std::vector<float> planes_of(const CompositeParams& p) {
  if (alpha_kind(p) == kAlphaShape) return {};
  std::vector<float> planes(4 * static_cast<std::size_t>(p.size) * p.size);
  if (p.crop_type == kU8) crop_planes<kU8>(p, planes.data());
  else if (p.crop_type == kF32) crop_planes<kF32>(p, planes.data());
  else crop_planes<kF16>(p, planes.data());
  return planes;
}

}  // namespace

void composite_cpu(const CompositeParams& p) {
  composite_batch_cpu(&p, 1);
}

void composite_batch_cpu(const CompositeParams* items, int count) {
  // (item, row) pairs in item order: the rows of every frame shared out among the threads.
  std::vector<int> start(count + 1, 0);
  std::vector<RowFn> fns(count);
  std::vector<std::vector<float>> planes(count);
  for (int i = 0; i < count; ++i) {
    start[i + 1] = start[i] + items[i].roi_h;
    fns[i] = row_fn(items[i]);
  }
  parallel_for(count, 1, [&](int b, int e) {
    for (int i = b; i < e; ++i) planes[i] = planes_of(items[i]);
  });
  const int rows = start[count];
  parallel_for(rows, 8, [&](int b, int e) {
    for (int r = b; r < e; ++r) {
      const int i = static_cast<int>(std::upper_bound(start.begin(), start.end(), r) - start.begin()) - 1;
      fns[i](items[i], planes[i].data(), items[i].y0 + r - start[i]);
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

// CPU launchers of the RGB -> I420/NV12 conversion (csrc/kernels/color.h): per pair of rows,
// with the channel count and order fixed at compile time so the loops vectorise; parallel_for over
// row pairs, and over frames x row pairs for a batch.
#include <algorithm>
#include <vector>

#if defined(__AVX512BW__) && defined(__AVX512VBMI__)
#include <immintrin.h>
#endif

#include "cpu/emulate.h"
#include "cpu/kernels_cpu.h"
#include "cpu/parallel.h"

namespace dh {

namespace {

#if defined(__AVX512BW__) && defined(__AVX512VBMI__)
// AVX-512 (BW + VBMI) steps of 64 pixels of a row pair, RGB/BGR: the same integer sums as
// color_luma / color_u / color_v (so the same bits), with their products summed in pairs by
// vpmaddwd on 16-bit lanes instead of 32-bit multiplies (which the compiler emits for the plain
// loop: RGB -> I420 ran at 0.9x OpenCV with them, 1.8x faster this way).

// Byte permutations that gather channel c of 64 packed 3-byte pixels (192 bytes in three
// vectors): first from the first two vectors, then the rest from the third.
struct Deinterleave {
  __m512i first[3], second[3];
  Deinterleave() {
    alignas(64) uint8_t a[64], b[64];
    for (int c = 0; c < 3; ++c) {
      for (int i = 0; i < 64; ++i) {
        const int at = 3 * i + c;
        a[i] = static_cast<uint8_t>(at < 128 ? at : 0);
        b[i] = static_cast<uint8_t>(at < 128 ? i : 64 + at - 128);
      }
      first[c] = _mm512_load_si512(a);
      second[c] = _mm512_load_si512(b);
    }
  }
};

// Bits [lo, hi) of a 64-bit mask (empty when hi <= lo).
inline __mmask64 bits(int lo, int hi) {
  lo = std::max(0, std::min(lo, 64)), hi = std::max(lo, std::min(hi, 64));
  return hi - lo == 64 ? ~__mmask64{0} : ((__mmask64{1} << (hi - lo)) - 1) << lo;
}

// n <= 64 pixels at `in` as R, G, B byte planes (Bgr: channel 0 is blue); nothing is read
// past the n pixels.
template <int Bgr>
void planes64(const Deinterleave& d, const uint8_t* in, int n, __m512i* rgb) {
  const int bytes = 3 * n;
  const __m512i a = _mm512_maskz_loadu_epi8(bits(0, bytes), in);
  const __m512i b = _mm512_maskz_loadu_epi8(bits(0, bytes - 64), in + 64);
  const __m512i c = _mm512_maskz_loadu_epi8(bits(0, bytes - 128), in + 128);
  for (int ch = 0; ch < 3; ++ch)
    rgb[Bgr ? 2 - ch : ch] = _mm512_permutex2var_epi8(_mm512_permutex2var_epi8(a, d.first[ch], b), d.second[ch], c);
}

// 32 luma bytes from the 16-bit R, G, B words of 32 pixels. The weights are taken as int16;
// one above 32767 (yg: 33039 for BT.601, 40254 for BT.709) wraps to yg - 65536, so for it g << 16
// (the high word of the pair (r, g)) is added back. yr and yb are below 32768.
inline __m256i luma32(const ColorCoeffs& k, __m512i r, __m512i g, __m512i b) {
  const __m512i k_rg = _mm512_set1_epi32((k.yr & 0xffff) | static_cast<int>(static_cast<unsigned>(k.yg) << 16));
  const __m512i k_b = _mm512_set1_epi32(k.yb & 0xffff), off = _mm512_set1_epi32(k.y_off);
  const __m512i high = _mm512_set1_epi32(k.yg >= 32768 ? static_cast<int>(0xffff0000u) : 0);
  const __m512i zero = _mm512_setzero_si512();
  auto sum = [&](__m512i rg, __m512i b0) {
    const __m512i s = _mm512_add_epi32(_mm512_madd_epi16(rg, k_rg), _mm512_and_si512(rg, high));
    return _mm512_srai_epi32(_mm512_add_epi32(s, _mm512_add_epi32(_mm512_madd_epi16(b0, k_b), off)), kColorShift);
  };
  // unpack and pack both work within 128-bit lanes, so the pixels come back in order
  const __m512i lo = sum(_mm512_unpacklo_epi16(r, g), _mm512_unpacklo_epi16(b, zero));
  const __m512i hi = sum(_mm512_unpackhi_epi16(r, g), _mm512_unpackhi_epi16(b, zero));
  return _mm512_cvtusepi16_epi8(_mm512_packus_epi32(lo, hi));  // clamped to 0..255
}

// 16 chroma bytes from the 2 x 2 block sums (dwords <= 1020) of 16 blocks: weights (wr, wg, wb).
inline __m128i chroma16(__m512i rs, __m512i gs, __m512i bs, int wr, int wg, int wb, int off) {
  const __m512i rg = _mm512_or_si512(rs, _mm512_slli_epi32(gs, 16));
  const __m512i k_rg = _mm512_set1_epi32((wr & 0xffff) | static_cast<int>(static_cast<unsigned>(wg) << 16));
  __m512i s = _mm512_add_epi32(_mm512_madd_epi16(rg, k_rg), _mm512_madd_epi16(bs, _mm512_set1_epi32(wb & 0xffff)));
  s = _mm512_srai_epi32(_mm512_add_epi32(s, _mm512_set1_epi32(off)), kColorShift);
  return _mm512_cvtusepi32_epi8(_mm512_max_epi32(s, _mm512_setzero_si512()));  // clamped to 0..255
}

// Row pair `by` of a 3-channel frame in steps of 64 pixels, the last one masked to what is left.
template <int Bgr, int Nv12>
void color_rows64(const ColorParams& p, int by, uint8_t* y0, uint8_t* y1, uint8_t* u, uint8_t* v) {
  static const Deinterleave d;
  const ColorCoeffs k = p.k;
  const uint8_t* in0 = p.frame + 2LL * by * p.width * 3;
  const uint8_t* in1 = in0 + static_cast<long long>(p.width) * 3;
  const __m512i ones = _mm512_set1_epi16(1);
  for (int x = 0; x < p.width; x += 64) {
    const int n = std::min(64, p.width - x);  // even, as the width is
    __m512i a[3], b[3];
    planes64<Bgr>(d, in0 + 3 * x, n, a);
    planes64<Bgr>(d, in1 + 3 * x, n, b);
    for (int h = 0; h < 2 && 32 * h < n; ++h) {  // pixels x + 32 h ..
      __m512i aw[3], bw[3], sums[3];
      for (int c = 0; c < 3; ++c) {
        aw[c] = _mm512_cvtepu8_epi16(h ? _mm512_extracti64x4_epi64(a[c], 1) : _mm512_castsi512_si256(a[c]));
        bw[c] = _mm512_cvtepu8_epi16(h ? _mm512_extracti64x4_epi64(b[c], 1) : _mm512_castsi512_si256(b[c]));
        sums[c] = _mm512_madd_epi16(_mm512_add_epi16(aw[c], bw[c]), ones);  // each block's sum
      }
      const int px = n - 32 * h, bx = x / 2 + 16 * h;  // pixels left from this half; its first block
      const __mmask32 luma = static_cast<__mmask32>(bits(0, px)), blocks = static_cast<__mmask16>(bits(0, px / 2));
      _mm256_mask_storeu_epi8(y0 + x + 32 * h, luma, luma32(k, aw[0], aw[1], aw[2]));
      _mm256_mask_storeu_epi8(y1 + x + 32 * h, luma, luma32(k, bw[0], bw[1], bw[2]));
      const __m128i cu = chroma16(sums[0], sums[1], sums[2], k.ur, k.ug, k.ub, k.c_off);
      const __m128i cv = chroma16(sums[0], sums[1], sums[2], k.vr, k.vg, k.vb, k.c_off);
      if (Nv12) {
        _mm_mask_storeu_epi8(u + 2 * bx, static_cast<__mmask16>(bits(0, px)), _mm_unpacklo_epi8(cu, cv));
        _mm_mask_storeu_epi8(u + 2 * bx + 16, static_cast<__mmask16>(bits(16, px) >> 16), _mm_unpackhi_epi8(cu, cv));
      } else {
        _mm_mask_storeu_epi8(u + bx, blocks, cu);
        _mm_mask_storeu_epi8(v + bx, blocks, cv);
      }
    }
  }
}
#endif

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
  const long long luma = static_cast<long long>(p.height) * w;
  const int cw = w / 2;
  uint8_t* u = p.out + luma + static_cast<long long>(by) * (Nv12 ? w : cw);
  uint8_t* v = Nv12 ? u + 1 : p.out + luma + static_cast<long long>(cw) * (p.height / 2) + static_cast<long long>(by) * cw;
#if defined(__AVX512BW__) && defined(__AVX512VBMI__)
  if constexpr (Channels == 3) return color_rows64<Bgr, Nv12>(p, by, y0, y1, u, v);
#endif
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

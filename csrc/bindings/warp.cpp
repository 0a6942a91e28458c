// dhsdk._C.warp / dhsdk._C.emulated.warp (and dhsdk._C.cuda_warp when CUDA is compiled in):
// the warp renderer's fused pixel pass over a triangle mesh (csrc/kernels/warp.h).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cmath>
#include <cstdint>
#include <string>

#include "bindings/check.h"
#include "bindings/kernel_args.h"
#include "bindings/registry.h"
#include "kernels/warp.h"

namespace py = pybind11;

namespace dh {
namespace {

using F32 = py::array_t<float, py::array::c_style | py::array::forcecast>;
using I32 = py::array_t<int32_t, py::array::c_style | py::array::forcecast>;

void check_crop(const py::array& a, const char* name, int size) {
  DH_CHECK(a.dtype().is(py::dtype::of<uint8_t>()), "%s must be uint8, got dtype %s", name, dtype_str(a.dtype()).c);
  DH_CHECK(a.ndim() == 3 && a.shape(2) == 3 && a.shape(0) == size && a.shape(1) == size,
           "%s must be S x S x 3 = (%d, %d, 3), got shape %s", name, size, size, shape_str(a).c);
  DH_CHECK(is_c_contiguous(a), "%s must be C-contiguous (np.ascontiguousarray), shape %s", name, shape_str(a).c);
}

void check_finite(const F32& a, const char* name) {
  const float* d = a.data();
  for (py::ssize_t i = 0; i < a.size(); ++i)
    DH_CHECK(std::isfinite(d[i]), "%s contains NaN or inf (element %lld)", name, static_cast<long long>(i));
}

void set3(float* dst, const py::tuple& v, const char* name) {
  DH_CHECK(v.size() == 3, "%s must have 3 values, got %zu", name, v.size());
  for (int c = 0; c < 3; ++c) dst[c] = v[c].cast<float>();
}

// The arrays a call reads (kept alive for the launch), its parameters and its mesh tables.
struct WarpCall {
  F32 src_pts, dst_pts, lut, src_lut, ref_lut;
  I32 tris;
  WarpMesh mesh;
  WarpParams p{};
};

// Checks and converts everything but the images; size = S.
void prepare(WarpCall& w, int size, py::object src_pts, py::object dst_pts, py::object tris, int n_mouth,
             py::object lut, py::object src_lut, py::object ref_lut, float dx_src, float dx_ref, float cx,
             float half_w, py::tuple gain, py::tuple offset, py::tuple cavity, py::tuple teeth, py::tuple key,
             float teeth_h, float soft) {
  DH_CHECK(size >= 2, "crop size must be >= 2, got %d", size);
  w.src_pts = F32::ensure(src_pts);
  w.dst_pts = F32::ensure(dst_pts);
  DH_CHECK(w.src_pts && w.src_pts.ndim() == 2 && w.src_pts.shape(1) == 2 && w.src_pts.shape(0) >= 3,
           "src_pts must be (V, 2) float32 with V >= 3, got shape %s", w.src_pts ? shape_str(w.src_pts).c : "?");
  DH_CHECK(w.dst_pts && w.dst_pts.ndim() == 2 && w.dst_pts.shape(0) == w.src_pts.shape(0) && w.dst_pts.shape(1) == 2,
           "dst_pts must have the shape of src_pts %s, got %s", shape_str(w.src_pts).c,
           w.dst_pts ? shape_str(w.dst_pts).c : "?");
  check_finite(w.src_pts, "src_pts");
  check_finite(w.dst_pts, "dst_pts");
  w.tris = I32::ensure(tris);
  DH_CHECK(w.tris && w.tris.ndim() == 2 && w.tris.shape(1) == 3,
           "tris must be (T, 3) vertex ids, got shape %s", w.tris ? shape_str(w.tris).c : "?");
  const int n_tris = static_cast<int>(w.tris.shape(0));
  const int n_vert = static_cast<int>(w.src_pts.shape(0));
  const int32_t* t = w.tris.data();
  for (int i = 0; i < 3 * n_tris; ++i)
    DH_CHECK(t[i] >= 0 && t[i] < n_vert, "tris: vertex id %d outside [0, %d)", t[i], n_vert);
  DH_CHECK(n_mouth >= 0 && n_mouth <= n_tris, "n_mouth must be in [0, %d], got %d", n_tris, n_mouth);
  F32* luts[3] = {&w.lut, &w.src_lut, &w.ref_lut};
  const py::object objs[3] = {lut, src_lut, ref_lut};
  const char* names[3] = {"lut", "src_lut", "ref_lut"};
  for (int k = 0; k < 3; ++k) {
    *luts[k] = F32::ensure(objs[k]);
    DH_CHECK(*luts[k] && luts[k]->ndim() == 2 && luts[k]->shape(0) == size && luts[k]->shape(1) == kWarpLutFloats,
             "%s must be (S, 2) = (%d, 2) float32, got shape %s", names[k], size,
             *luts[k] ? shape_str(*luts[k]).c : "?");
    check_finite(*luts[k], names[k]);
  }
  DH_CHECK(half_w > 0.f && soft > 0.f && teeth_h >= 0.f,
           "half_w and soft must be > 0 and teeth_h >= 0, got %g, %g, %g", half_w, soft, teeth_h);
  WarpParams& p = w.p;
  p.size = size;
  p.lut = w.lut.data();
  p.src_lut = w.src_lut.data();
  p.ref_lut = w.ref_lut.data();
  p.dx_src = dx_src;
  p.dx_ref = dx_ref;
  p.cx = cx;
  p.half_w = half_w;
  set3(p.gain, gain, "gain");
  set3(p.offset, offset, "offset");
  set3(p.cavity, cavity, "cavity");
  set3(p.teeth, teeth, "teeth");
  DH_CHECK(key.size() == 2, "key must be (teeth redness, lip redness), got %zu values", key.size());
  for (int k = 0; k < 2; ++k) p.key[k] = key[k].cast<float>();
  p.teeth_h = teeth_h;
  p.soft = soft;
  py::gil_scoped_release release;
  w.mesh = warp_mesh(w.src_pts.data(), w.dst_pts.data(), t, n_tris, n_mouth, size);
}

py::array warp(py::array src, py::array ref, py::object src_pts, py::object dst_pts, py::object tris, int n_mouth,
               py::object lut, py::object src_lut, py::object ref_lut, float dx_src, float dx_ref, float cx,
               float half_w, py::tuple gain, py::tuple offset, py::tuple cavity, py::tuple teeth, py::tuple key,
               float teeth_h, float soft, bool emulated) {
  DH_CHECK(src.ndim() == 3, "src must be S x S x 3, got shape %s", shape_str(src).c);
  const int size = static_cast<int>(src.shape(0));
  check_crop(src, "src", size);
  check_crop(ref, "ref", size);
  WarpCall w;
  prepare(w, size, src_pts, dst_pts, tris, n_mouth, lut, src_lut, ref_lut, dx_src, dx_ref, cx, half_w, gain,
          offset, cavity, teeth, key, teeth_h, soft);
  py::array_t<uint8_t> out({size, size, 3});
  w.p.src = static_cast<const uint8_t*>(src.data());
  w.p.ref = static_cast<const uint8_t*>(ref.data());
  w.p.out = out.mutable_data();
  warp_attach(w.p, w.mesh);
  {
    py::gil_scoped_release release;
    std::copy(w.p.src, w.p.src + 3 * static_cast<std::size_t>(size) * size, w.p.out);
    (emulated ? warp_emulated : warp_cpu)(w.p);
  }
  return out;
}

constexpr const char* kDoc =
    "warp(src, ref, src_pts, dst_pts, tris, n_mouth, lut, src_lut, ref_lut, dx_src, dx_ref, cx, half_w,\n"
    "     gain, offset, cavity, teeth, key, teeth_h, soft) -> (S, S, 3) uint8\n"
    "Piecewise-affine inverse warp of src (S, S, 3) uint8 over a triangle mesh: each output pixel\n"
    "inside a destination triangle samples src bilinearly at the same barycentric position in the\n"
    "source triangle; pixels in no triangle are copied. src_pts/dst_pts: (V, 2) float32 crop pixels\n"
    "(centres at integers); tris: (T, 3) int32, the first n_mouth are the inner-mouth triangles,\n"
    "whose pixels get the synthesised mouth instead (see csrc/kernels/warp.h): lut/src_lut (S, 2)\n"
    "float32 upper/lower (visible) inner-lip y per column of the target and of src; ref_lut (S, 2)\n"
    "top/bottom y of the teeth per column of ref (S, S, 3) uint8; source/ref column = column +\n"
    "dx_src/dx_ref; cx, half_w: target mouth centre column and half width (px); gain/offset: ref ->\n"
    "crop colour per channel (0..255 units); cavity/teeth: RGB 0..255 (teeth: procedural ones);\n"
    "key: (teeth redness, lip redness) of ref, (R-G)/(R+G+B), key[0] >= key[1] for a ref without\n"
    "teeth; teeth_h: upper-teeth height at the centre (px); soft: the footage's blur (px).";

}  // namespace

void register_warp(py::module_& m) {
  using namespace py::literals;
  auto bind = [](py::module_& mod, bool emu) {
    mod.def(
        "warp",
        [emu](py::array src, py::array ref, py::object src_pts, py::object dst_pts, py::object tris, int n_mouth,
              py::object lut, py::object src_lut, py::object ref_lut, float dx_src, float dx_ref, float cx,
              float half_w, py::tuple gain, py::tuple offset, py::tuple cavity, py::tuple teeth, py::tuple key,
              float teeth_h, float soft) {
          return warp(src, ref, src_pts, dst_pts, tris, n_mouth, lut, src_lut, ref_lut, dx_src, dx_ref, cx, half_w,
                      gain, offset, cavity, teeth, key, teeth_h, soft, emu);
        },
        kDoc, "src"_a, "ref"_a, "src_pts"_a, "dst_pts"_a, "tris"_a, "n_mouth"_a, "lut"_a, "src_lut"_a, "ref_lut"_a,
        "dx_src"_a, "dx_ref"_a, "cx"_a, "half_w"_a, "gain"_a, "offset"_a, "cavity"_a, "teeth"_a, "key"_a,
        "teeth_h"_a, "soft"_a);
  };
  bind(m, false);
  py::module_ emu = emulated_module(m);
  bind(emu, true);
#ifdef DH_WITH_CUDA
  m.def(
      "cuda_warp",
      [](std::uintptr_t src, std::uintptr_t ref, std::uintptr_t out, int size, py::object src_pts,
         py::object dst_pts, py::object tris, int n_mouth, py::object lut, py::object src_lut, py::object ref_lut,
         float dx_src, float dx_ref, float cx, float half_w, py::tuple gain, py::tuple offset, py::tuple cavity,
         py::tuple teeth, py::tuple key, float teeth_h, float soft, std::uintptr_t scratch, std::size_t scratch_bytes,
         std::uintptr_t stream) {
        WarpCall w;
        prepare(w, size, src_pts, dst_pts, tris, n_mouth, lut, src_lut, ref_lut, dx_src, dx_ref, cx, half_w, gain,
                offset, cavity, teeth, key, teeth_h, soft);
        const std::size_t need = warp_device_bytes(w.mesh, size);
        DH_CHECK(scratch_bytes >= need, "scratch must hold at least %zu bytes for this mesh, got %zu", need,
                 scratch_bytes);
        DH_CHECK(src && ref && out && scratch, "src, ref, out and scratch must be device pointers, got null");
        w.p.src = reinterpret_cast<const uint8_t*>(src);
        w.p.ref = reinterpret_cast<const uint8_t*>(ref);
        w.p.out = reinterpret_cast<uint8_t*>(out);
        py::gil_scoped_release release;
        warp_cuda(w.p, w.mesh, reinterpret_cast<void*>(scratch), reinterpret_cast<void*>(stream));
      },
      "cuda_warp(src, ref, out, size, <warp args>, scratch, scratch_bytes, stream): the warp on device\n"
      "pointers src/ref/out ((S, S, 3) uint8, C-contiguous) on a CUDA stream (int); mesh and LUT arrays\n"
      "are host numpy as for warp() and are uploaded into the device buffer `scratch`; with\n"
      "n = ceil(S / 16)^2 tiles, 4 * (13 T + 6 S + n + 1 + T n) bytes always suffice (a smaller\n"
      "buffer raises ValueError with the size this mesh needs). Raises RuntimeError with the CUDA\n"
      "error when the launch fails.",
      "src"_a, "ref"_a, "out"_a, "size"_a, "src_pts"_a, "dst_pts"_a, "tris"_a, "n_mouth"_a, "lut"_a, "src_lut"_a,
      "ref_lut"_a, "dx_src"_a, "dx_ref"_a, "cx"_a, "half_w"_a, "gain"_a, "offset"_a, "cavity"_a, "teeth"_a,
      "key"_a, "teeth_h"_a, "soft"_a, "scratch"_a, "scratch_bytes"_a, "stream"_a);
#endif
}

}  // namespace dh

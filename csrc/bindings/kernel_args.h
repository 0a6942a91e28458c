// Argument checks and conversions shared by the composite/crop/color bindings.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

#include "bindings/check.h"
#include "kernels/pixel.h"

namespace dh {

// The `dhsdk._C.emulated` submodule (created by the first binding that needs it).
inline pybind11::module_ emulated_module(pybind11::module_& m) {
  if (pybind11::hasattr(m, "emulated")) return m.attr("emulated").cast<pybind11::module_>();
  return m.def_submodule("emulated", "Host emulation of the CUDA launches (tests only)");
}

// Run a host launcher (OpenMP or emulated CUDA launch) with the GIL released.
template <typename Params>
void run_host(const Params& p, bool emulated, void (*cpu)(const Params&), void (*emu)(const Params&)) {
  pybind11::gil_scoped_release release;
  (emulated ? emu : cpu)(p);
}

// H x W x {3,4} C-contiguous uint8 image.
inline void check_frame(const pybind11::array& f, const char* name) {
  DH_CHECK(f.dtype().is(pybind11::dtype::of<uint8_t>()),
           name << " must be uint8, got dtype " << std::string(pybind11::str(f.dtype())));
  DH_CHECK(f.ndim() == 3 && (f.shape(2) == 3 || f.shape(2) == 4) && f.shape(0) >= 1 && f.shape(1) >= 1,
           name << " must be H x W x 3 or H x W x 4, got shape " << shape_str(f));
  DH_CHECK(is_c_contiguous(f), name << " must be C-contiguous (np.ascontiguousarray), shape " << shape_str(f));
}

inline int elem_type(const pybind11::array& a, const char* name) {
  if (a.dtype().is(pybind11::dtype::of<uint8_t>())) return kU8;
  if (a.dtype().is(pybind11::dtype::of<float>())) return kF32;
  if (a.dtype().kind() == 'f' && a.itemsize() == 2) return kF16;
  DH_CHECK(false, name << " must be uint8, float32 or float16, got dtype "
                       << std::string(pybind11::str(a.dtype())));
  return kU8;
}

// Optional S x S float32 C-contiguous mask; nullptr for None.
inline const float* optional_mask(const pybind11::object& mask, int size, pybind11::array_t<float>& keep) {
  if (mask.is_none()) return nullptr;
  keep = pybind11::array_t<float, pybind11::array::c_style | pybind11::array::forcecast>::ensure(mask);
  DH_CHECK(keep && keep.ndim() == 2 && keep.shape(0) == size && keep.shape(1) == size,
           "mask must be S x S = (" << size << ", " << size << ") float32, got shape "
                                    << (keep ? shape_str(keep) : std::string("?")));
  return keep.data();
}

}  // namespace dh

// Argument checks and conversions shared by the composite/crop/color bindings. The same checks
// serve the host launchers (numpy arrays) and the CUDA launchers (device arrays described by a
// tuple), so a bad shape gets the same ValueError on either path.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <optional>
#include <cstdio>
#include <string>
#include <vector>

#include "bindings/check.h"
#include "kernels/pixel.h"

namespace dh {

// The `dhsdk._C.emulated` submodule (created by the first binding that needs it).
inline pybind11::module_ emulated_module(pybind11::module_& m) {
  if (pybind11::hasattr(m, "emulated")) return m.attr("emulated").cast<pybind11::module_>();
  return m.def_submodule("emulated", "Host emulation of the CUDA launches (tests only)");
}

// Run a host launcher (threaded or emulated CUDA launch) with the GIL released.
template <typename Params>
void run_host(const Params& p, bool emulated, void (*cpu)(const Params&), void (*emu)(const Params&)) {
  pybind11::gil_scoped_release release;
  (emulated ? emu : cpu)(p);
}

// An array argument as the boundary checks see it: a numpy array (host_arg) or a device array
// (device_arg). The data pointer is never dereferenced by the checks.
struct ArrayArg {
  void* data = nullptr;
  std::vector<pybind11::ssize_t> shape;
  pybind11::dtype dtype;
  bool contiguous = true;
  bool writable = true;

  int ndim() const { return static_cast<int>(shape.size()); }
  bool is_f32() const { return dtype.equal(pybind11::dtype::of<float>()); }
};

inline ArrayArg host_arg(const pybind11::array& a) {
  return ArrayArg{const_cast<void*>(a.data()), std::vector<pybind11::ssize_t>(a.shape(), a.shape() + a.ndim()),
                  a.dtype(), is_c_contiguous(a), a.writeable()};
}

// A device array as the tuple (ptr, shape, dtype, readonly) that dhsdk.cuda.launch.Launch.arg
// builds from a C-contiguous device view (contiguity was checked there).
inline ArrayArg device_arg(const pybind11::handle& h, const char* name) {
  DH_CHECK(pybind11::isinstance<pybind11::tuple>(h) && pybind11::len(h) == 4,
           "%s must be a device array tuple (ptr, shape, dtype, readonly), got %s", name, repr_str(h).c);
  const auto t = h.cast<pybind11::tuple>();
  ArrayArg a;
  a.data = reinterpret_cast<void*>(t[0].cast<std::uintptr_t>());
  for (const auto d : t[1].cast<pybind11::sequence>()) a.shape.push_back(d.cast<pybind11::ssize_t>());
  a.dtype = pybind11::dtype::from_args(t[2]);
  a.writable = !t[3].cast<bool>();
  pybind11::ssize_t n = 1;
  for (auto d : a.shape) n *= d;
  DH_CHECK(a.data != nullptr || n == 0, "%s is a null device pointer (shape %s)", name, shape_str(a.shape).c);
  return a;
}

// A batch argument: a list (or tuple) of exactly `count` items (count < 0: any length >= 1).
inline pybind11::sequence batch_list(const pybind11::object& o, const char* name, long long count = -1) {
  DH_CHECK(pybind11::isinstance<pybind11::list>(o) || pybind11::isinstance<pybind11::tuple>(o),
           "%s must be a list of per-frame arrays, got %s", name, type_str(o).c);
  const auto seq = o.cast<pybind11::sequence>();
  const long long n = static_cast<long long>(pybind11::len(seq));
  DH_CHECK(count < 0 ? n >= 1 : n == count, "%s must hold %s%lld items, got %lld", name, count < 0 ? "at least " : "",
           count < 0 ? 1LL : count, n);
  return seq;
}

// A numpy array argument (a batch item) as an ArrayArg; `name` names it in the error.
inline ArrayArg host_obj(const pybind11::handle& h, const char* name) {
  DH_CHECK(pybind11::isinstance<pybind11::array>(h), "%s must be a numpy array, got %s", name, type_str(h).c);
  return host_arg(h.cast<pybind11::array>());
}

// None -> nullopt, else device_arg.
inline std::optional<ArrayArg> device_opt(const pybind11::object& o, const char* name) {
  if (o.is_none()) return std::nullopt;
  return device_arg(o, name);
}

// None -> nullopt, else a float32 C-contiguous host array (converted if needed, kept in `keep`).
inline std::optional<ArrayArg> host_f32(const pybind11::object& o, pybind11::array_t<float>& keep) {
  if (o.is_none()) return std::nullopt;
  keep = pybind11::array_t<float, pybind11::array::c_style | pybind11::array::forcecast>::ensure(o);
  DH_CHECK(keep, "expected a float32-convertible array, got %s", repr_str(o).c);
  return host_arg(keep);
}

// The pointer of an array the kernel writes.
inline void* writable_data(const ArrayArg& a, const char* name) {
  DH_CHECK(a.writable, "%s is read-only, shape %s", name, shape_str(a.shape).c);
  return a.data;
}

// H x W x {3,4} C-contiguous uint8 image.
inline void check_frame(const ArrayArg& f, const char* name) {
  DH_CHECK(f.dtype.equal(pybind11::dtype::of<uint8_t>()), "%s must be uint8, got dtype %s", name,
           dtype_str(f.dtype).c);
  DH_CHECK(f.ndim() == 3 && (f.shape[2] == 3 || f.shape[2] == 4) && f.shape[0] >= 1 && f.shape[1] >= 1,
           "%s must be H x W x 3 or H x W x 4, got shape %s", name, shape_str(f.shape).c);
  DH_CHECK(f.contiguous, "%s must be C-contiguous (np.ascontiguousarray), shape %s", name, shape_str(f.shape).c);
}

inline int elem_type(const ArrayArg& a, const char* name) {
  if (a.dtype.equal(pybind11::dtype::of<uint8_t>())) return kU8;
  if (a.is_f32()) return kF32;
  if (a.dtype.kind() == 'f' && a.dtype.itemsize() == 2) return kF16;
  raise_value_error("%s must be uint8, float32 or float16, got dtype %s", name, dtype_str(a.dtype).c);
}

inline pybind11::dtype elem_dtype(int type) {
  return type == kU8 ? pybind11::dtype::of<uint8_t>() : type == kF32 ? pybind11::dtype::of<float>()
                                                                     : pybind11::dtype("float16");
}

// Optional S x S float32 mask; nullptr for none.
inline const float* optional_mask(const std::optional<ArrayArg>& mask, int size) {
  if (!mask) return nullptr;
  DH_CHECK(mask->is_f32() && mask->ndim() == 2 && mask->shape[0] == size && mask->shape[1] == size &&
               mask->contiguous,
           "mask must be S x S = (%d, %d) float32, got shape %s %s", size, size, shape_str(mask->shape).c,
           dtype_str(mask->dtype).c);
  return static_cast<const float*>(mask->data);
}

// An output the caller allocated for a CUDA launcher: exactly `shape` and `dtype`, writable.
inline void* check_out(const ArrayArg& out, const std::vector<pybind11::ssize_t>& shape, const pybind11::dtype& dtype) {
  DH_CHECK(out.shape == shape && out.dtype.equal(dtype) && out.contiguous, "out must be %s %s, got %s %s",
           shape_str(shape).c, dtype_str(dtype).c, shape_str(out.shape).c, dtype_str(out.dtype).c);
  return writable_data(out, "out");
}

}  // namespace dh

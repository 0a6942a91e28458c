// Boundary checks for the bindings (flash-attention's CHECK_SHAPE habit): one macro that raises a
// Python ValueError carrying the offending values. Never used inside pixel loops.
//
// Messages are formatted with snprintf into a fixed buffer, never through iostreams: a toolchain
// that links libstdc++ statically into _C.so (g++ 13.3 of the lent GPU machine does) gets its
// ostream number formatting interposed by the process's shared libstdc++ once torch is imported,
// which misformats (Debian g++ 12) or crashes (g++ 13.3, SIGSEGV in std::ostream::_M_insert<long>)
// on an error path. tests/kernels/test_native_errors.py builds such an extension and drives every
// binding's error path to keep it so.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdarg>
#include <cstdio>
#include <string>
#include <vector>

namespace dh {

// Raise pybind11::value_error (-> Python ValueError) with a printf-formatted message.
[[noreturn]] inline void raise_value_error(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
[[noreturn]] inline void raise_value_error(const char* fmt, ...) {
  char buf[1024];
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, args);
  va_end(args);
  throw pybind11::value_error(buf);
}

// A short formatted string (shapes, dtypes) for a %s argument: `shape_str(a).c`.
struct Text {
  char c[160];
};

// "(1080, 1920, 3)" for error messages.
inline Text shape_str(const std::vector<pybind11::ssize_t>& shape) {
  Text t{};
  int n = std::snprintf(t.c, sizeof t.c, "(");
  for (std::size_t i = 0; i < shape.size() && n > 0 && n < static_cast<int>(sizeof t.c); ++i)
    n += std::snprintf(t.c + n, sizeof t.c - n, "%s%lld", i ? ", " : "", static_cast<long long>(shape[i]));
  if (n > 0 && n < static_cast<int>(sizeof t.c))
    std::snprintf(t.c + n, sizeof t.c - n, shape.size() == 1 ? ",)" : ")");
  return t;
}

inline Text shape_str(const pybind11::array& a) {
  return shape_str(std::vector<pybind11::ssize_t>(a.shape(), a.shape() + a.ndim()));
}

// "float32" (numpy's name) for error messages.
inline Text dtype_str(const pybind11::dtype& d) {
  Text t{};
  std::snprintf(t.c, sizeof t.c, "%s", std::string(pybind11::str(d)).c_str());
  return t;
}

// repr(obj), truncated to fit, for error messages.
inline Text repr_str(const pybind11::handle& h) {
  Text t{};
  std::snprintf(t.c, sizeof t.c, "%s", std::string(pybind11::repr(h)).c_str());
  return t;
}

// The Python type name of obj ("numpy.ndarray" shows as "ndarray"), for error messages.
inline Text type_str(const pybind11::handle& h) {
  Text t{};
  std::snprintf(t.c, sizeof t.c, "%s", Py_TYPE(h.ptr())->tp_name);
  return t;
}

// "frames[3]" for the items of a batch argument.
inline Text item_name(const char* name, std::size_t i) {
  Text t{};
  std::snprintf(t.c, sizeof t.c, "%s[%zu]", name, i);
  return t;
}

inline bool is_c_contiguous(const pybind11::array& a) {
  return (a.flags() & pybind11::array::c_style) != 0;
}

}  // namespace dh

// DH_CHECK(cond, "printf format", args...): raise ValueError with the message unless cond holds.
#define DH_CHECK(cond, ...)                              \
  do {                                                   \
    if (!(cond)) ::dh::raise_value_error(__VA_ARGS__);   \
  } while (0)

// Boundary checks for the bindings (flash-attention's CHECK_SHAPE habit): one macro that
// raises a Python ValueError carrying the offending values. Never used inside pixel loops.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <sstream>
#include <string>

#define DH_CHECK(cond, msg)                                  \
  do {                                                       \
    if (!(cond)) {                                           \
      std::ostringstream dh_check_os_;                       \
      dh_check_os_ << msg;                                   \
      throw pybind11::value_error(dh_check_os_.str());       \
    }                                                        \
  } while (0)

namespace dh {

// "(1080, 1920, 3)" for error messages.
inline std::string shape_str(const pybind11::array& a) {
  std::ostringstream os;
  os << "(";
  for (pybind11::ssize_t i = 0; i < a.ndim(); ++i) os << (i ? ", " : "") << a.shape(i);
  os << (a.ndim() == 1 ? ",)" : ")");
  return os.str();
}

inline bool is_c_contiguous(const pybind11::array& a) {
  return (a.flags() & pybind11::array::c_style) != 0;
}

}  // namespace dh

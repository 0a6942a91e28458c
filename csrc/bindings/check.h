// Boundary checks for the bindings (flash-attention's CHECK_SHAPE habit): one macro that
// raises a Python ValueError carrying the offending values. Never used inside pixel loops.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <sstream>
#include <string>
#include <vector>

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
inline std::string shape_str(const std::vector<pybind11::ssize_t>& shape) {
  std::ostringstream os;
  os << "(";
  for (std::size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
  os << (shape.size() == 1 ? ",)" : ")");
  return os.str();
}

inline std::string shape_str(const pybind11::array& a) {
  return shape_str(std::vector<pybind11::ssize_t>(a.shape(), a.shape() + a.ndim()));
}

inline bool is_c_contiguous(const pybind11::array& a) {
  return (a.flags() & pybind11::array::c_style) != 0;
}

}  // namespace dh

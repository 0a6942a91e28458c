// One registration function per area (CTranslate2's python/cpp layout); module.cpp only
// calls them. Each lives in csrc/bindings/<area>.cpp.
#pragma once

#include <pybind11/pybind11.h>

namespace dh {

void register_build_info(pybind11::module_& m);
void register_cuda(pybind11::module_& m);
void register_composite(pybind11::module_& m);
void register_crop(pybind11::module_& m);
void register_color(pybind11::module_& m);
void register_warp(pybind11::module_& m);

}  // namespace dh

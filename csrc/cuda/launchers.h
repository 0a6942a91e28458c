// The CUDA launchers of the composite, crop and color kernels (csrc/cuda/<kernel>.cu), declared
// in plain C++ so the bindings include them without CUDA headers. Every pointer in the params is
// a device pointer; `stream` is a cudaStream_t (0: the legacy default stream). Each launch runs
// the kernel's DH_HD body over its *_grid with kBlock2d blocks (the decomposition the emulated
// launches in csrc/cpu run on the host), is asynchronous, and throws std::runtime_error naming
// the CUDA error when it cannot be queued (no driver, bad configuration). The *_batch_cuda
// launchers run `count` independent calls as ParamTable launches (csrc/kernels/common.h): one
// kernel launch per table of up to ParamTable::kMax items, the table passed by value.
#pragma once

#include "kernels/color.h"
#include "kernels/composite.h"
#include "kernels/crop.h"

namespace dh {

void composite_cuda(const CompositeParams& p, void* stream);
void composite_batch_cuda(const CompositeParams* items, int count, void* stream);
void crop_batch_cuda(const CropParams* items, int count, void* stream);  // every crop: one item
void color_cuda(const ColorParams& p, void* stream);
void color_batch_cuda(const ColorParams* items, int count, void* stream);

}  // namespace dh

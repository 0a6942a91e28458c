// Host launchers of the composite, crop and color kernels: parallel_for loops over rows calling the
// same per-pixel functions the Thread bodies call (with compile-time specialisations), and an
// emulated CUDA launch of each body (csrc/cpu/emulate.h) that tests compare bit for bit against
// the threaded path. The *_batch_* launchers run `count` independent calls (a batch of frames):
// the threaded ones share the rows of all frames among the threads, the emulated ones make the
// ParamTable launches the CUDA batch launchers make.
#pragma once

#include "kernels/color.h"
#include "kernels/composite.h"
#include "kernels/crop.h"

namespace dh {

void composite_cpu(const CompositeParams& p);
void composite_emulated(const CompositeParams& p);
void composite_batch_cpu(const CompositeParams* items, int count);
void composite_batch_emulated(const CompositeParams* items, int count);
void crop_batch_cpu(const CropParams* items, int count);  // every crop: one item
void crop_batch_emulated(const CropParams* items, int count);
void color_cpu(const ColorParams& p);
void color_emulated(const ColorParams& p);
void color_batch_cpu(const ColorParams* items, int count);
void color_batch_emulated(const ColorParams* items, int count);

}  // namespace dh

// Host launchers of the composite, crop and color kernels: an OpenMP loop over rows calling
// the same per-pixel function the Thread body calls, and an emulated CUDA launch of the body
// (csrc/cpu/emulate.h) that tests compare bit-for-bit against the OpenMP path.
#pragma once

#include "kernels/color.h"
#include "kernels/composite.h"
#include "kernels/crop.h"

namespace dh {

void composite_cpu(const CompositeParams& p);
void composite_emulated(const CompositeParams& p);
void crop_cpu(const CropParams& p);
void crop_emulated(const CropParams& p);
void color_cpu(const ColorParams& p);
void color_emulated(const ColorParams& p);

}  // namespace dh

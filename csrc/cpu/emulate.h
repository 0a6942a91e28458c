// Host emulation of a CUDA launch: runs a DH_HD kernel body for every (block, thread) of a
// grid, in the order a GPU may not use but with exactly the indices it would compute.
// Used by tests (through dhsdk._C.emulated.*) to check the GPU kernels' index math here.
#pragma once

#include "kernels/common.h"

namespace dh {

template <typename Params, void (*Body)(const Thread&, const Params&)>
void emulate_launch(Dim grid, Dim block, const Params& p) {
  for (unsigned bz = 0; bz < grid.z; ++bz)
    for (unsigned by = 0; by < grid.y; ++by)
      for (unsigned bx = 0; bx < grid.x; ++bx)
        for (unsigned ty = 0; ty < block.y; ++ty)
          for (unsigned tx = 0; tx < block.x; ++tx)
            Body(Thread{Dim{bx, by, bz}, Dim{tx, ty, 0}, block}, p);
}

}  // namespace dh

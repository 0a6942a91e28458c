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

// The table launches of a batch (csrc/kernels/common.h ParamTable), as the CUDA launcher
// makes them: one launch per table of up to kMax items, grid from table_grid.
template <typename P, void (*Body)(const Thread&, const P&), typename GridFn>
void emulate_table(const P* items, int count, GridFn grid, Dim block = kBlock2d) {
  for_each_table(items, count, [&](const ParamTable<P>& t) {
    emulate_launch<ParamTable<P>, table_body<P, Body>>(table_grid(t, grid), block, t);
  });
}

}  // namespace dh

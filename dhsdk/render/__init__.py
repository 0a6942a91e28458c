"""The render stage: from (base frame, target lips) to finished frames (DESIGN.md, "mouth",
"composite", "Real time").

- :mod:`~dhsdk.render.geometry`: :class:`MouthGeometry`, an avatar's immutable crop affines,
  mask, canonical -> crop map, lips and mouth sources, built once and shared;
- :mod:`~dhsdk.render.path`: the :class:`FramePath` interface (batches of frames), with
  :mod:`~dhsdk.render.host_path` (C++ kernels on the CPU) and :mod:`~dhsdk.render.device_path`
  (CUDA) side by side;
- mouth renderers implementing :class:`~dhsdk.render.base.MouthRenderer`: the weights-free warp
  renderer (default) and the inpainting UNet (per-person weights);
- per-stream render state: :mod:`~dhsdk.render.state` (target lips, smoothing) and
  :mod:`~dhsdk.render.rest` (the resting mouth with its micro-motion).
"""

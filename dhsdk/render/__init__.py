"""Mouth stage: produce the new lower face in the avatar's mouth crop (DESIGN.md, "mouth").

Renderers implement :class:`~dhsdk.render.base.MouthRenderer`: the weights-free warp
renderer (default) and the inpainting UNet (per-person weights).
"""

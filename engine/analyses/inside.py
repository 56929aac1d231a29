"""The analyses that look inside the network (study §4), declared once."""

from __future__ import annotations

from engine.analyses.declaration import Analysis, count, image, parameter, register
from engine.config import OCCLUSION_PATCH, OCCLUSION_STRIDE

OCCLUSION = register(Analysis(
    name="occlude", title="Occlusion", study_section="4",
    about="occlusion maps: where covering the image changes the answer",
    compute="engine.occlusion:occlusion_of",
    parameters=(
        image(),
        count("patch", OCCLUSION_PATCH, "patch size in pixels", maximum=28),
        count("stride", OCCLUSION_STRIDE, "step between positions, in pixels", maximum=14),
        parameter("fill", float, 0.0, "the patch's pixel value (0: black)", minimum=0,
                  maximum=1),
    ),
))  # fmt: skip

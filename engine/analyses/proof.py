"""The proof analyses, declared once: `mnist-tui certify`."""

from __future__ import annotations

from engine.analyses.declaration import Analysis, count, parameter, register
from engine.config import MOST_EPS

CERTIFY_EPS = (0.1, 0.2, 0.3)

CERTIFY = register(Analysis(
    name="certify", title="Certified robustness", study_section="7",
    about="the share of test images proven robust within eps (interval bounds): a lower bound"
    " beside the attacks' upper one",
    description="Interval bound propagation (Gowal et al. 2018): bounds of the logits over"
    " every image within eps of each test image (L-infinity, pixels of 0-1, clipped to valid"
    " pixels), through Conv2d, Linear, BatchNorm and Dropout in eval mode, ReLU, MaxPool2d,"
    " AvgPool2d and Flatten. An image is certified when its class's logit is proven above"
    " every other's (bounded on the differences, through the last linear layer; where the"
    " network ends in Linear, ReLU, Linear, also back through those as CROWN does, the"
    " tighter bound kept). Certified"
    " accuracy is a lower bound on the true robust accuracy; what an attack leaves"
    " (`mnist-tui robustness`) is an upper bound. IBP's bounds are loose on networks not"
    " trained for them (train --adversarial ibp).",
    compute="engine.proof.certify:certify_of",
    parameters=(
        parameter("eps", float, CERTIFY_EPS, "epsilons (pixel intensity, 0-1)", minimum=0,
                  maximum=1, many=True, most=MOST_EPS, metavar="EPS"),
        count("limit", None, "certify only the first N test images", optional=True,
              metavar="N"),
    ),
    in_app=False,
    in_report=True,
))  # fmt: skip

"""The confidence analyses, declared once: `mnist-tui calibration`."""

from __future__ import annotations

from engine.analyses.declaration import Analysis, count, register

CALIBRATION = register(Analysis(
    name="calibration", title="Calibrated confidence",
    about="whether the confidence shown can be trusted: a reliability diagram, ECE, NLL and"
    " Brier, before and after a temperature fitted on the validation split",
    description="Guo et al. 2017. The test images in ten bins of confidence (the largest"
    " probability): each bin's accuracy against its mean confidence. ECE: the bins' gaps"
    " weighted by their counts; MCE: the largest gap; NLL: the mean -log p of the true class;"
    " Brier: the mean squared distance of the probabilities from the truth. Temperature"
    " scaling divides the logits by one number T, fitted on the run's validation split by"
    " NLL: no prediction changes, only how sure they look. Label smoothing (the fast and"
    " accurate recipes) makes a network under-confident: T below 1.",
    compute="engine.confidence.calibration:calibration_of",
    parameters=(count("bins", 10, "confidence bins of the reliability diagram", maximum=50),),
    in_app=False,
    in_report=False,
))  # fmt: skip

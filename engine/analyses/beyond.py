"""The analyses beyond the clean test set, declared once: `mnist-tui calibration`, `shift`
and `corruptions`."""

from __future__ import annotations

from engine.analyses.declaration import Analysis, count, parameter, register

CORRUPTED_IMAGES = 1000  # the test images an ensemble is judged on under MNIST-C by default

CALIBRATION = register(Analysis(
    name="calibration", title="Calibrated confidence", study_section="9",
    about="whether the confidence shown can be trusted: a reliability diagram, ECE, NLL and"
    " Brier, before and after a temperature fitted on the validation split",
    description="Guo et al. 2017. The test images in ten bins of confidence (the largest"
    " probability): each bin's accuracy against its mean confidence. ECE: the bins' gaps"
    " weighted by their counts; MCE: the largest gap; NLL: the mean -log p of the true class;"
    " Brier: the mean squared distance of the probabilities from the truth. Temperature"
    " scaling divides the logits by one number T, fitted on the run's validation split by"
    " NLL: no prediction changes, only how sure they look. Label smoothing (the fast and"
    " accurate recipes) makes a network under-confident: T below 1.",
    compute="engine.beyond.calibration:calibration_of",
    parameters=(count("bins", 10, "confidence bins of the reliability diagram", maximum=50),),
    in_app=False,
    in_report=True,
))  # fmt: skip

SHIFT = register(Analysis(
    name="shift", title="Under shift", study_section="9",
    about="accuracy, mean confidence, ECE and NLL as the test set is rotated (0-180 degrees)"
    " or translated (0-14 pixels)",
    description="Ovadia et al. 2019 (\"Can you trust your model's uncertainty?\"): the test"
    " set rotated about its centre, or moved to the right, a step at a time; at each step the"
    " accuracy, the mean confidence, ECE and NLL. A network whose confidence can be trusted"
    " grows less sure as it grows less right: the two curves fall together.",
    compute="engine.beyond.shift:shift_of",
    parameters=(
        parameter("rotate", float, None, "rotate by 0 up to this many degrees (the default:"
                  " 180)", minimum=0, maximum=360, optional=True, metavar="DEGREES"),
        parameter("translate", int, None, "instead, move 0 up to this many pixels to the"
                  " right", minimum=0, maximum=28, optional=True, metavar="PIXELS"),
        parameter("step", float, None, "the step (blank: 15 degrees, or 2 pixels)", minimum=0,
                  above_minimum=True, maximum=360, optional=True),
    ),
    in_app=False,
    in_report=True,
    givens={"report": {"rotate": 180, "step": 30}},
))  # fmt: skip

CORRUPTIONS = register(Analysis(
    name="corruptions", title="Natural corruptions (MNIST-C)", study_section="9",
    about="accuracy under MNIST-C's 15 corruptions of the test set (noise, blur, shear, fog,"
    " lines ...) and their mean, beside the clean accuracy",
    description="Mu & Gilmer 2019: shot_noise, impulse_noise, glass_blur, motion_blur, shear,"
    " scale, rotate, brightness, translate, stripe, fog, spatter, dotted_line, zigzag and"
    " canny_edges, written anew from the published definitions at their default severities,"
    " each image's draws seeded by its index (the same images every time; where they differ"
    " from the published code: engine/beyond/corruptions.py). --mnist-c DIR scores the"
    " published static dataset instead (its NAME/test_images.npy files). Needs scikit-image"
    " (pip install 'mnist-tui[corruptions]').",
    compute="engine.beyond.corruptions:corruptions_of",
    parameters=(
        parameter("only", str, None, "only these corruptions, comma-separated (MNIST-C's names)",
                  optional=True, metavar="NAMES", noun="corruption names"),
        count("images", None, "only the first N test images (blank: all)", optional=True,
              metavar="N"),
        count("seed", 0, "the draws' seed (one seed, the same images)", low=0),
        parameter("mnist_c", str, None, "score the published MNIST-C folder instead (unzipped"
                  " mnist_c.zip)", optional=True, metavar="DIR", noun="a folder"),
    ),
    in_app=False,
    in_report=True,
    givens={"report": {"images": 1000}},  # two minutes a network for all 10,000 on 2 cores
))  # fmt: skip

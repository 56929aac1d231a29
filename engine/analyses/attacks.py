"""The analyses that break the network (study §5 and its extension), declared once."""

from __future__ import annotations

from engine.analyses.declaration import (
    Analysis,
    count,
    digits,
    image,
    parameter,
    register,
    seed,
    size,
)
from engine.attacks.catalogue import ATTACKS
from engine.config import (
    APGD_STEPS,
    APGD_TARGETS,
    ATTACK_BATCH,
    ATTACK_EPS,
    ATTACK_RESTARTS,
    LARGEST,
    MOST_EPS,
    NOISE_STEP_SIZE,
    NOISE_STEPS,
    PGD_ALPHA,
    PGD_STEPS,
    ROBUSTNESS_ATTACK,
    ROBUSTNESS_EPS,
    SQUARE_QUERIES,
    SYNTHESIS_DEFAULTS,
    SYNTHESIS_METHOD,
    SYNTHESIS_METHODS,
    TARGETED_BETA,
    TARGETED_STEP_SIZE,
    TARGETED_STEPS,
)

# The command groups: `mnist-tui attack NAME`.
GROUPS = {"attack": "adversarial images"}


def eps_radius(default: float):
    return parameter("eps", float, default, "the L-infinity radius: how far any one pixel may"
                     " move, in pixel intensity (pixels run from 0 to 1; 0.3 is 30% of the"
                     " range)", minimum=0, maximum=1)  # fmt: skip


SYNTHESIZE = register(Analysis(
    name="synthesize", group="attack", title="Class synthesis", study_section="5",
    about="from noise, an image the network calls k with certainty",
    compute="engine.attacks.synthesis:synthesis_of",
    parameters=(
        digits("classes", "the digits to synthesise, e.g. 0-9 or 3,8"),
        parameter("method", str, SYNTHESIS_METHOD, "; ".join(f"{name}: {what}" for name, what
                                                    in SYNTHESIS_METHODS.items()),
                  choices=tuple(SYNTHESIS_METHODS)),
        count("steps", None, "steps (blank: " + ", ".join(
            f"{steps:,} for {name}" for name, (steps, _) in SYNTHESIS_DEFAULTS.items()) + ")",
            optional=True),
        size("step_size", None, "size of each step (blank: " + ", ".join(
            f"{step:g} for {name}" for name, (_, step) in SYNTHESIS_DEFAULTS.items()) + ")",
            optional=True),
        seed("seed of the starting noise"),
        parameter("clamp", bool, True, "keep pixels in [0, 1] (--no-clamp lets them leave, as"
                  " the original did)"),
    ),
    # the report: the study's 10,000 sign steps reach the same pictures by 2,000 (its chart
    # of the logits shows them flat well before)
    givens={"report": {"classes": tuple(range(10)), "steps": 2000}},
))  # fmt: skip

TARGETED = register(Analysis(
    name="targeted", group="attack", title="Targeted attack", study_section="5",
    about="an image near a real digit that the network calls T",
    compute="engine.attacks.targeted:targeted_of",
    parameters=(
        image("the test image to stay near"),
        parameter("target", int, None, "the digit the network should call it", minimum=0,
                  maximum=9, metavar="T"),
        parameter("beta", float, TARGETED_BETA, "weight of the MSE term (larger keeps the"
                  " image nearer the digit)", minimum=0, maximum=LARGEST),
        count("steps", TARGETED_STEPS, "gradient steps"),
        size("step_size", TARGETED_STEP_SIZE, "size of each step"),
        seed("seed of the starting noise"),
        parameter("clamp", bool, True, "keep pixels in [0, 1] (--no-clamp lets them leave)"),
    ),
    # a real 2 turned into a 9: in the app test image 1 (a 2 in MNIST's test set), in the
    # report the first 2 the network gets right (REPORT_SOURCE)
    givens={"report": {"target": 9}, "app": {"target": 9, "image": 1}},
))  # fmt: skip
REPORT_SOURCE = 2  # the digit of the report's targeted example

NOISE = register(Analysis(
    name="noise", group="attack", title="Adding noise", study_section="5",
    about="noise that turns real digits into each target",
    compute="engine.attacks.noise:noise_of",
    parameters=(
        digits("sources", "source digits (a correctly classified test image of each)"),
        digits("targets", "target digits"),
        count("max_steps", NOISE_STEPS, "give up on a pair after this many steps"),
        size("step_size", NOISE_STEP_SIZE, "size of each signed step"),
        seed("seed of the attack"),
    ),
    # the report: every pair; the app: one pair at a time, first a 2 into a 9
    givens={"report": {"sources": tuple(range(10)), "targets": tuple(range(10))},
            "app": {"sources": (2,), "targets": (9,)}},
))  # fmt: skip

LIMIT = count("limit", 1000, "test images to attack", metavar="N")
PGD_PARAMETERS = (
    count("steps", PGD_STEPS, "PGD steps"),
    size("alpha", PGD_ALPHA, "PGD step size"),
    parameter("random_start", bool, False, "PGD from a random point in the ball"),
)

FGSM = register(Analysis(
    name="fgsm", group="attack", title="FGSM", study_section="5",
    about="fast gradient sign method (L-infinity, pixels in [0, 1]) on test images",
    compute="engine.attacks.lp_attack:fgsm_of", in_report=False, in_app=False,
    parameters=(eps_radius(ATTACK_EPS), LIMIT),
))  # fmt: skip

PGD = register(Analysis(
    name="pgd", group="attack", title="PGD", study_section="5",
    about="projected gradient descent (L-infinity, pixels in [0, 1]) on test images",
    compute="engine.attacks.lp_attack:pgd_of", in_report=False, in_app=False,
    parameters=(eps_radius(ATTACK_EPS), LIMIT, *PGD_PARAMETERS),
))  # fmt: skip

ROBUSTNESS = register(Analysis(
    name="robustness", title="Robustness", study_section="5",
    about="test accuracy against epsilon under an attack, or the worst of several",
    description=f"Test accuracy against epsilon. Attacks (APGD runs {APGD_STEPS} steps): "
    + "; ".join(f"{name}: {attack.about}" for name, attack in ATTACKS.items()) + ".",
    compute="engine.attacks.robustness:robustness_of",
    parameters=(
        parameter("eps", float, ROBUSTNESS_EPS, "epsilons", minimum=0, maximum=1, many=True,
                  most=MOST_EPS, metavar="EPS"),
        parameter("attack", str, ROBUSTNESS_ATTACK, "the attack (see above)",
                  choices=ATTACKS.keys()),  # live: a new attack class is a choice
        count("restarts", ATTACK_RESTARTS, "random restarts of pgd (with --random-start) and"
              " of the APGD attacks; an image must survive every one"),
        count("queries", SQUARE_QUERIES, "the square attack's queries per image (AutoAttack's);"
              " 0 leaves it out of worst: much faster, but blind to a network that hides its"
              " gradients", low=0, metavar="N"),
        count("targets", APGD_TARGETS, "classes apgd-t aims at, the most likely first (every"
              " other class, as AutoAttack; fewer is faster)", maximum=9),
        count("limit", None, "attack only the first N test images", optional=True, metavar="N"),
        *PGD_PARAMETERS,
        count("batch_size", ATTACK_BATCH, "images attacked together (larger is faster on a GPU; the"
              " Square Attack's random draws follow the batches)", metavar="N"),
        parameter("certify", bool, False, "also prove what can be proven on the same images"
                  " (interval bounds, `mnist-tui certify`): each eps then has a band, from what"
                  " is proven to what the attack left"),
    ),
    # the app answers within seconds on a CPU; the report attacks the same first images
    # with FGSM and PGD so that their curves compare (PGD's steps make it the report's
    # costliest part)
    givens={"app": {"limit": 1000}, "report": {"limit": 300}},
))  # fmt: skip
REPORT_ATTACKS = ("fgsm", "pgd")  # the report's curves: the study's two


def eps_columns(lead: list[str], eps) -> list[str]:
    """The run × eps table laid out once (the app's comparison of defences, the report):
    its ``lead`` columns (run, defence or attack), then the accuracy at each eps.
    (The first eps is headed "eps 0", the rest by their value alone, and the accuracies have
    one decimal: the study's seven epsilons then fit 80 columns beside the run.)"""
    eps = list(eps)
    return [*lead, *(f"eps {e:g}" if i == 0 else f"{e:g}" for i, e in enumerate(eps))]


def eps_cells(points) -> list[str]:
    """A row's accuracies (engine.events.RobustnessMeasured, one per eps), as eps_columns'."""
    return [f"{p.accuracy:.1%}" for p in points]

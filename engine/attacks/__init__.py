"""Breaking the network (study §5): inputs optimised by signed-gradient steps — class
synthesis, targeted images, additive noise — and the standard L-infinity attacks FGSM and
PGD with the robustness curve. All work on pixels in [0, 1] through ``PixelModel``."""

from engine.attacks.catalogue import ATTACKS, FGSM, PGD, Attack, make_attack
from engine.attacks.noise import NoiseResult, noise_attack, noise_table
from engine.attacks.robustness import robustness_curve
from engine.attacks.synthesis import SynthesisResult, synthesize_classes
from engine.attacks.targeted import TargetedResult, targeted_image

__all__ = [
    "ATTACKS",
    "Attack",
    "make_attack",
    "FGSM",
    "PGD",
    "NoiseResult",
    "SynthesisResult",
    "TargetedResult",
    "noise_attack",
    "noise_table",
    "robustness_curve",
    "synthesize_classes",
    "targeted_image",
]

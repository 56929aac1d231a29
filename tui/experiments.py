"""The experiments of the study (assets/study.md) as the home screen and the command palette list them."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

from engine.config import ATTRIBUTION_METHODS, ROBUSTNESS_ATTACKS


@dataclass(frozen=True)
class Experiment:
    """One entry: its number key, title, one-line description and screen."""

    key: str
    title: str
    description: str
    screen: str  # "module:Class" under tui.screens
    options: dict = field(default_factory=dict)

    def make_screen(self):
        module_name, class_name = self.screen.split(":")
        module = importlib.import_module(f"tui.screens.{module_name}")
        return getattr(module, class_name)(**self.options)


EXPERIMENTS = [
    Experiment("1", "Train convnet", "train the plain CNN and watch it learn (study §3)",
               "train:TrainScreen", {"model": "convnet"}),
    Experiment("2", "Train convnet-bn", "the same network with BatchNorm",
               "train:TrainScreen", {"model": "convnet-bn"}),
    Experiment("3", "Runs and comparison", "every run; overlay curves, figures side by side",
               "runs:RunsScreen"),
    Experiment("u", "Studies", "comparisons over seeds: means, intervals, a paired test",
               "studies:StudiesScreen"),
    Experiment("4", "Architecture", "shapes, parameters, neurons, multiply-adds per layer",
               "architecture:ArchitectureScreen"),
    Experiment("5", "Predictions", "test digits with true and predicted labels",
               "predictions:PredictionsScreen"),
    Experiment("6", "Filters and activations", "conv1's filters, a conv2 filter, feature maps",
               "filters:FiltersScreen"),
    Experiment("7", "Occlusion", "slide a patch over a digit: where does the network look?",
               "occlusion:OcclusionScreen"),
    Experiment("8", "Class synthesis", "from noise, images the network calls 0-9 for sure",
               "synthesis:SynthesisScreen"),
    Experiment("9", "Targeted attack", "an image near a real digit, called another digit",
               "targeted:TargetedScreen"),
    Experiment("0", "Adding noise", "noise that turns a real digit into any other",
               "noise:NoiseScreen"),
    Experiment("a", "Attribution",
               f"{len(ATTRIBUTION_METHODS)} methods say which pixels made the answer, and how"
               " faithfully", "attribution:AttributionScreen"),
    Experiment("r", "Robustness",
               f"test accuracy against epsilon under {len(ROBUSTNESS_ATTACKS) - 1} attacks, or"
               " the worst of them", "robustness:RobustnessScreen"),
    Experiment("d", "Draw", "draw a digit and watch the prediction change",
               "draw:DrawScreen"),
]  # fmt: skip

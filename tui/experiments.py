"""The experiments of the study (assets/study.md) as the home screen and the command palette list them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from textual.screen import Screen

from engine.analyses import ANALYSES
from engine.attacks.catalogue import ATTACKS
from engine.config import ATTRIBUTION_METHODS


@dataclass(frozen=True)
class Experiment:
    """One entry: its number key, title, one-line description and screen."""

    key: str
    title: str
    description: str
    screen: Callable[[], type[Screen]]  # the screen's class, imported when first opened
    options: dict = field(default_factory=dict)
    analysis: str = ""  # the declared analysis (engine.analyses) the screen draws, if any

    def make_screen(self) -> Screen:
        return self.screen()(**self.options)


# Each screen's class behind a function: the home screen starts without importing them all,
# and every screen is still named by its class (which tools can follow), not a string.
def _train() -> type[Screen]:
    from tui.screens.train import TrainScreen

    return TrainScreen


def _runs() -> type[Screen]:
    from tui.screens.runs import RunsScreen

    return RunsScreen


def _studies() -> type[Screen]:
    from tui.screens.studies import StudiesScreen

    return StudiesScreen


def _sweeps() -> type[Screen]:
    from tui.screens.sweeps import SweepsScreen

    return SweepsScreen


def _architecture() -> type[Screen]:
    from tui.screens.architecture import ArchitectureScreen

    return ArchitectureScreen


def _predictions() -> type[Screen]:
    from tui.screens.predictions import PredictionsScreen

    return PredictionsScreen


def _filters() -> type[Screen]:
    from tui.screens.filters import FiltersScreen

    return FiltersScreen


def _occlusion() -> type[Screen]:
    from tui.screens.occlusion import OcclusionScreen

    return OcclusionScreen


def _synthesis() -> type[Screen]:
    from tui.screens.synthesis import SynthesisScreen

    return SynthesisScreen


def _targeted() -> type[Screen]:
    from tui.screens.targeted import TargetedScreen

    return TargetedScreen


def _noise() -> type[Screen]:
    from tui.screens.noise import NoiseScreen

    return NoiseScreen


def _attribution() -> type[Screen]:
    from tui.screens.attribution import AttributionScreen

    return AttributionScreen


def _robustness() -> type[Screen]:
    from tui.screens.robustness import RobustnessScreen

    return RobustnessScreen


def _histograms() -> type[Screen]:
    from tui.screens.histograms import HistogramsScreen

    return HistogramsScreen


def _top_images() -> type[Screen]:
    from tui.screens.top_images import TopImagesScreen

    return TopImagesScreen


def _confusions() -> type[Screen]:
    from tui.screens.confusions import ConfusionsScreen

    return ConfusionsScreen


def _embedding() -> type[Screen]:
    from tui.screens.embedding import EmbeddingScreen

    return EmbeddingScreen


def _analysis() -> type[Screen]:
    from tui.screens.analysis import AnalysisScreen

    return AnalysisScreen


def _draw() -> type[Screen]:
    from tui.screens.draw import DrawScreen

    return DrawScreen


EXPERIMENTS = [
    Experiment("1", "Train convnet", "train the plain CNN and watch it learn (study §3)",
               _train, {"model": "convnet"}),
    Experiment("2", "Train convnet-bn", "the same network with BatchNorm",
               _train, {"model": "convnet-bn"}),
    Experiment("3", "Runs and comparison", "every run; overlay curves, figures side by side",
               _runs),
    Experiment("u", "Studies", "comparisons over seeds: means, intervals, a paired test",
               _studies),
    Experiment("w", "Sweeps", "searches over settings with Optuna: trials, best, importances",
               _sweeps),
    Experiment("4", "Architecture", "shapes, parameters, neurons, multiply-adds per layer",
               _architecture),
    Experiment("5", "Predictions", "test digits with true and predicted labels",
               _predictions, analysis="predict"),
    Experiment("6", "Filters and activations", "each convolution's filters and feature maps",
               _filters, analysis="filters"),
    Experiment("7", "Occlusion", "slide a patch over a digit: where does the network look?",
               _occlusion, analysis="occlude"),
    Experiment("8", "Class synthesis", "from noise, images the network calls 0-9 for sure",
               _synthesis, analysis="synthesize"),
    Experiment("9", "Targeted attack", "an image near a real digit, called another digit",
               _targeted, analysis="targeted"),
    Experiment("0", "Adding noise", "noise that turns a real digit into any other",
               _noise, analysis="noise"),
    Experiment("a", "Attribution",
               f"{len(ATTRIBUTION_METHODS)} methods say which pixels made the answer, and how"
               " faithfully", _attribution, analysis="attribute"),
    Experiment("r", "Robustness",
               f"test accuracy against epsilon under {len(ATTACKS) - 1} attacks, or"
               " the worst of them", _robustness, analysis="robustness"),
    Experiment("h", "Histograms", "each layer's weights and gradients, at any moment of"
               " training", _histograms, analysis="histograms"),
    Experiment("d", "Draw", "draw a digit and watch the prediction change",
               _draw),
    Experiment("c", ANALYSES["top-images"].title, ANALYSES["top-images"].about, _top_images,
               analysis="top-images"),
    Experiment("x", ANALYSES["confusions"].title, ANALYSES["confusions"].about, _confusions,
               analysis="confusions"),
    Experiment("e", ANALYSES["embedding"].title, ANALYSES["embedding"].about, _embedding,
               analysis="embedding"),
]  # fmt: skip


# Keys for the analyses no screen draws by hand: none taken by the home screen or the app.
FREE_KEYS = "fglmnoptyz"


def experiments() -> list[Experiment]:
    """The study's experiments, then every declared analysis that has no screen of its own
    (drawn by the generic analysis screen), each with a free key."""
    drawn = {e.analysis for e in EXPERIMENTS}
    undrawn = [a for a in ANALYSES.values() if a.in_app and a.name not in drawn]
    generic = [
        Experiment(key, analysis.title, analysis.about, _analysis, {"name": analysis.name},
                   analysis=analysis.name)
        for key, analysis in zip(FREE_KEYS, undrawn, strict=False)
    ]  # fmt: skip
    return [*EXPERIMENTS, *generic]

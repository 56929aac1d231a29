"""The screens' catalogue: the experiments of the study (assets/study.md) as the home screen,
the command palette and `?` list them. An entry that draws a declared analysis names it
(``analyses``), and its title and description are the declaration's; the screen says the
same where it is written (its ``ANALYSIS``; a test keeps the two together)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from textual.screen import Screen

from engine.analyses import ANALYSES
from engine.config import STUDY_MODELS


@dataclass(frozen=True)
class Experiment:
    """One entry: its key and screen, and either the declared analyses the screen draws (the
    first gives the description) or a title and description of its own."""

    key: str
    screen: Callable[[], type[Screen]]  # the screen's class, imported when first opened
    analyses: tuple[str, ...] = ()  # the declared analyses (engine.analyses) it draws
    own_title: str = ""
    own_description: str = ""
    options: dict = field(default_factory=dict)

    @property
    def analysis(self) -> str:
        """The declared analysis the screen draws ('' for none)."""
        return self.analyses[0] if self.analyses else ""

    @property
    def title(self) -> str:
        if self.own_title:
            return self.own_title
        titles = [ANALYSES[name].title for name in self.analyses]
        return " and ".join([titles[0], *(t[0].lower() + t[1:] for t in titles[1:])])

    @property
    def description(self) -> str:
        return self.own_description or ANALYSES[self.analyses[0]].about

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


def _beyond() -> type[Screen]:
    from tui.screens.beyond import BeyondScreen

    return BeyondScreen


def _draw() -> type[Screen]:
    from tui.screens.own_digit import DrawScreen

    return DrawScreen


EXPERIMENTS = [
    Experiment("1", _train, own_title=f"Train {STUDY_MODELS[0]}", options={"model": STUDY_MODELS[0]},
               own_description="train the plain CNN and watch it learn (study §3)"),
    Experiment("2", _train, own_title=f"Train {STUDY_MODELS[1]}", options={"model": STUDY_MODELS[1]},
               own_description="the same network with BatchNorm"),
    Experiment("3", _runs, own_title="Runs and comparison",
               own_description="every run; overlay curves, figures side by side"),
    Experiment("u", _studies, own_title="Studies",
               own_description="comparisons over seeds: means, intervals, a paired test"),
    Experiment("w", _sweeps, own_title="Sweeps",
               own_description="searches over settings with Optuna: trials, best, importances"),
    Experiment("4", _architecture, own_title="Architecture",
               own_description="shapes, parameters, neurons, multiply-adds per layer"),
    Experiment("5", _predictions, ("predict",)),
    Experiment("6", _filters, ("filters", "activations")),
    Experiment("7", _occlusion, ("occlude",)),
    Experiment("8", _synthesis, ("synthesize",)),
    Experiment("9", _targeted, ("targeted",)),
    Experiment("0", _noise, ("noise",)),
    Experiment("a", _attribution, ("attribute",)),
    Experiment("r", _robustness, ("robustness",)),
    Experiment("h", _histograms, ("histograms",)),
    Experiment("d", _draw, own_title="Draw",
               own_description="draw a digit and watch the prediction change"),
    Experiment("c", _top_images, ("top-images",)),
    Experiment("x", _confusions, ("confusions",)),
    Experiment("e", _embedding, ("embedding",)),
    Experiment("t", _beyond, own_title="Beyond the test set, and proof",
               own_description="corruptions, calibrated confidence, turned and shifted digits,"
               " what interval bounds prove"),
]  # fmt: skip


# Keys for the analyses no screen draws by hand: none taken by the home screen or the app.
FREE_KEYS = "fglmnopyz"


def experiments() -> list[Experiment]:
    """The study's experiments, then every declared analysis that has no screen of its own
    (drawn by the generic analysis screen), each with a free key."""
    drawn = {name for e in EXPERIMENTS for name in e.analyses}
    undrawn = [a for a in ANALYSES.values() if a.in_app and a.name not in drawn]
    generic = [
        Experiment(key, _analysis, (analysis.name,), options={"name": analysis.name})
        for key, analysis in zip(FREE_KEYS, undrawn, strict=False)
    ]
    return [*EXPERIMENTS, *generic]

"""The settings of a training run, each declared once — its default, help, bounds and
choices — as a field of ``TrainConfig``. The CLI's options, the app's form and validation
are all made from these declarations, so adding a setting is one edit here. Beside them, the
defaults the analyses' declarations (engine.analyses) take their values from — occlusion,
attacks, attribution, embeddings, how many images — and the zoo's names and recipes.

Readable without importing torch (the app lists runs before torch has loaded).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from engine.errors import SettingError

# The zoo, declared once: each network's name, its class in engine.models.zoo (which cites its
# source; named as a string, like an analysis's function, so that --help needs no torch) and
# what it is in one line.
ZOO = {
    "convnet": ("ConvNet", "the study's CNN"),
    "convnet-bn": ("BatchNormConvNet", "the study's CNN with BatchNorm"),
    "lenet5": ("LeNet5", "LeCun et al. 1998, with ReLU and max-pooling"),
    "mlp": ("MLP", "784-500-10, no convolution"),
    "smallcnn": ("SmallCNN", "the 4-convolution network TRADES uses for MNIST"),
    "madry": ("MadryNet", "the 2-convolution + fc 1024 network of Madry et al.'s MNIST challenge"),
    "fastnet": (
        "FastNet",
        "the small CNN of the notebook 'Training a NN to 99% accuracy on"
        " MNIST in 0.76 seconds' (github.com/tuomaso/train_mnist_fast): 99% in one epoch"
        " here (the fast recipe's)",
    ),
    "ibp-small": (
        "IBPSmall",
        "Gowal et al. 2018's small network for interval bound training (two strided"
        " convolutions, fc 100, no pooling): proves the most with --adversarial ibp",
    ),
}
MODEL_ABOUT = {name: about for name, (_, about) in ZOO.items()}
MODEL_NAMES = tuple(ZOO)
STUDY_MODELS = ("convnet", "convnet-bn")  # the study's two networks (study §2)
DEFAULT_MODEL = STUDY_MODELS[0]  # trained, described and drawn when none is named


def model_label(model: str) -> str:
    """A network as tables and folder names show it: its name, or a file's class in lower
    case (``nets/wide.py:WideNet`` -> ``widenet``)."""
    if model in MODEL_ABOUT or ":" not in model:
        return model
    return "".join(c for c in model.rsplit(":", 1)[1].lower() if c.isalnum())[:24] or "custom"


def model_about(model: str) -> str:
    return MODEL_ABOUT.get(model) or f"your network, {model}"


DEVICES = ("auto", "cpu", "cuda", "mps")
DEVICE_AUTO = "auto picks cuda, then mps, then the cpu"  # what --device auto does
PRECISIONS = ("auto", "bf16", "fp32")

# How the map of what a network learned is drawn in two dimensions (engine.inside.embedding),
# from how many test images; and how many images of a channel `top-images` shows.
EMBEDDING_METHODS = ("pca", "tsne")
EMBEDDING_IMAGES = 2000
TOP_IMAGES_SHOWN = 9

# The occlusion study's defaults (study §4): a 14x14 patch moved 2 pixels at a time.
OCCLUSION_PATCH = 14
OCCLUSION_STRIDE = 2
OCCLUSION_FILL = 0.0  # the patch's pixel value: black
# The targeted attack's weight of the MSE term (the study's): small, so the network is fooled
# fast while the image drifts from the digit; around 300 it stays close (see the README).
TARGETED_BETA = 0.001
TARGETED_STEPS, TARGETED_STEP_SIZE = 3000, 0.01
# The adding-noise attack (study §5): signed steps on a real digit until it is called the
# target, at most this many.
NOISE_STEPS, NOISE_STEP_SIZE = 1000, 0.01
# PGD's defaults for `attack pgd` and the robustness curve: 40 steps of 0.01.
PGD_STEPS, PGD_ALPHA = 40, 0.01
ATTACK_EPS = 0.1  # `attack fgsm` and `attack pgd`'s radius when none is given
# The robustness curve's epsilons (study §5's extension), and AutoAttack's budgets: APGD's
# steps, the classes APGD-T aims at (every other one, most likely first), Square's queries.
ROBUSTNESS_EPS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3)
APGD_STEPS, APGD_TARGETS, SQUARE_QUERIES = 100, 9, 5000
ATTACK_RESTARTS = 1  # random restarts of pgd (with a random start) and of APGD
# Images attacked together by the attacks and robust validation (larger is faster on a GPU),
# and images scored together where no run setting says (eval_batch_size's default: 256
# was measured faster than 1,000 on 2 cores).
ATTACK_BATCH = 500
ROBUSTNESS_ATTACK = "fgsm"  # the robustness curve's attack unless one is named
SCORING_BATCH = 256
# Bounds of every analysis option: 1e20 steps is a hang, not a setting. Counts (steps,
# queries, images, restarts) stop at a million; step sizes and weights at a thousand (pixels
# lie in [0, 1]); a list of epsilons at fifty values (each is an attack over the images).
MOST, LARGEST, MOST_EPS = 1_000_000, 1_000.0, 50
MAX_TRIALS = 10_000  # a sweep's trials in all
# Predictions shown when no test image is named (`predict`).
RANDOM_IMAGES = 12
# The test image the study looks at (§4): a "9" that covering its top turns into a 2 or a 7.
STUDY_IMAGE = 7
# Bars in each weight or gradient histogram (`histograms`; a narrow terminal shows fewer).
HISTOGRAM_BINS = 24
# Class synthesis (engine/attacks/synthesis.py): each method, and its default steps and step
# size (l2 saturates the image into noise long before the study's 10,000 steps).
SYNTHESIS_METHODS = {
    "sign": "from Gaussian noise, signed-gradient steps (the study's)",
    "l2": "from mid-grey, steps along the gradient (L2; a robust network draws digits)",
}
SYNTHESIS_DEFAULTS = {"sign": (10_000, 0.01), "l2": (300, 0.5)}
SYNTHESIS_METHOD = "sign"  # the study's


def synthesis_budget(method: str, steps: int | None = None,
                     step_size: float | None = None) -> tuple[int, float]:  # fmt: skip
    """A synthesis method's steps and step size: those given, else the method's own."""
    default_steps, default_size = SYNTHESIS_DEFAULTS[method]
    return (default_steps if steps is None else steps,
            default_size if step_size is None else step_size)  # fmt: skip


# Adversarial training (engine.training.robust): none, or a defence by the name the CLI uses.
DEFENCES = ("none", "fgsm-rs", "pgd", "trades", "ibp")
OPTIMISERS = ("sgd", "adam")
SCHEDULES = ("auto", "cosine", "onecycle")
SNAPSHOTS = ("all", "epochs", "none")
# Robust validation of an adversarial run, each epoch: PGD with this many steps from a random
# start on the first images of the validation set (the same ones every epoch).
ROBUST_VAL_IMAGES = 1000
ROBUST_VAL_STEPS = 10
# Catastrophic overfitting (Wong et al. 2020): robust validation accuracy falling this far
# (in accuracy, 0-1) below its best within a run.
COLLAPSE_DROP = 0.2


@dataclass(frozen=True)
class Setting:
    """How one run setting is typed, bounded, explained and shown."""

    name: str
    kind: type  # int, float, str or bool
    default: Any
    help: str
    label: str
    minimum: float | None = None
    maximum: float | None = None
    above_minimum: bool = False  # the minimum itself is not allowed (a learning rate of 0)
    below_maximum: bool = False  # the maximum itself is not allowed (a momentum of 1)
    choices: tuple[str, ...] = ()
    optional: bool = False  # may be None: blank in the form, left out on the command line
    in_form: bool = True  # the app's form shows it
    metavar: str | None = None
    many: bool = False  # a comma-separated list of values of ``kind`` (a tuple), each checked
    most: int = 50  # with ``many``: at most this many values
    aliases: tuple[str, ...] = ()  # other options that set it on the command line ("--index")
    noun: str = "a path"  # what a text setting without choices is, in its rule
    open_choices: bool = False  # ``choices`` are suggestions; ``test`` judges anything else
    test: Any = None  # value -> None if fine, else why not (a text setting's own check)

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def rule(self) -> str:
        """What the setting accepts, in words: 'a whole number from 1 to 10000'."""
        if self.many:
            single = dataclasses.replace(self, many=False, optional=False).rule()
            plural = single.replace("a whole number", "whole numbers").replace(
                "a number", "numbers"
            )
            return f"up to {self.most} comma- or space-separated {plural}"
        if self.choices:
            other = f", or {self.noun}" if self.open_choices else ""
            return "one of " + ", ".join(self.choices) + other
        if self.kind is bool:
            return "on or off"
        if self.kind is str:
            return self.noun + (", or blank" if self.optional else "")
        noun = "a whole number" if self.kind is int else "a number"
        low, high = self._show_bound(self.minimum), self._show_bound(self.maximum)
        if self.minimum is not None and self.maximum is not None:
            if self.above_minimum or self.below_maximum:
                low_text = f"above {low}" if self.above_minimum else f"at least {low}"
                high_text = f"below {high}" if self.below_maximum else f"at most {high}"
                text = f"{noun} {low_text} and {high_text}"
            else:
                text = f"{noun} from {low} to {high}"
        elif self.minimum is not None:
            text = f"{noun} {'above' if self.above_minimum else 'of at least'} {low}"
        else:
            text = noun
        return text + (", or blank" if self.optional else "")

    def _show_bound(self, bound: float | None) -> str:
        if bound is None:
            return ""
        return f"{int(bound):,}" if self.kind is int else _show(bound)

    def parse(self, text: str) -> Any:
        """The value typed as ``text`` (command line or form), checked; SettingError if not."""
        text = text.strip()
        if self.optional and text in ("", "none", "None"):
            return None
        if self.many:
            return self.check(self._parse_list(text))
        if self.kind is bool:
            words = {
                "on": True,
                "true": True,
                "yes": True,
                "off": False,
                "false": False,
                "no": False,
            }
            if text.lower() not in words:
                raise SettingError(f"{self.name}: {text!r} is not on or off")
            return words[text.lower()]
        if self.kind in (int, float):
            try:
                value = self.kind(text)
            except ValueError:
                raise SettingError(f"{self.name}: {text!r} is not {self.rule()}") from None
            return self.check(value)
        return self.check(text)

    def _parse_list(self, text: str) -> list:
        """'0,0.1,0.3' (and for whole numbers '0-9' or '0-2,7') as a list, items unchecked."""
        single = dataclasses.replace(self, many=False, optional=False)
        values: list = []
        for part in text.split(","):
            part = part.strip()
            if not part:
                raise SettingError(f"{self.name}: {text!r} has an empty item")
            low, dash, high = part.partition("-")
            if self.kind is int and dash and low:
                first, last = single.parse(low), single.parse(high)
                if last < first:
                    raise SettingError(f"{self.name}: {part!r} runs backwards")
                if last - first >= self.most:
                    raise SettingError(f"{self.name}: {part!r} is more than {self.most} values")
                values.extend(range(first, last + 1))
            else:
                values.append(single.parse(part))
        return values

    def check(self, value: Any) -> Any:
        """``value`` if the setting allows it; SettingError naming the setting if not."""
        if value is None:
            if self.optional:
                return None
            raise SettingError(f"{self.name} must be set ({self.rule()})")
        if self.many:
            if not isinstance(value, list | tuple) or not value:
                raise SettingError(f"{self.name}: {value!r} is not {self.rule()}")
            if len(value) > self.most:
                raise SettingError(f"{self.name}: {len(value)} values, at most {self.most}")
            if len(set(value)) != len(value):
                raise SettingError(f"{self.name}: {self.show(value)} gives a value twice")
            single = dataclasses.replace(self, many=False, optional=False)
            return tuple(single.check(item) for item in value)
        if self.kind is bool:
            if not isinstance(value, bool):
                raise SettingError(f"{self.name}: {value!r} is not on or off")
            return value
        if self.kind is str:
            if not isinstance(value, str):
                raise SettingError(f"{self.name}: {value!r} is not text")
            if self.choices and value in self.choices:
                return value
            if self.choices and not self.open_choices:
                raise SettingError(f"{self.name}: {value!r} is not {self.rule()}")
            problem = self.test(value) if self.test else None
            if problem:
                raise SettingError(f"{self.name}: {value!r} is not {self.rule()} ({problem})")
            return value
        numeric = (int,) if self.kind is int else (int, float)
        if isinstance(value, bool) or not isinstance(value, numeric):
            raise SettingError(f"{self.name}: {value!r} is not {self.rule()}")
        if not math.isfinite(value):
            raise SettingError(f"{self.name}: {value} is not {self.rule()}")
        low, high = self.minimum, self.maximum
        if (
            (low is not None and (value < low or (self.above_minimum and value == low)))
            or (high is not None and (value > high or (self.below_maximum and value == high)))
        ):  # fmt: skip
            raise SettingError(f"{self.name}: {self.show(value)} is not {self.rule()}")
        return value

    def show(self, value: Any) -> str:
        """``value`` as the form and the help text write it."""
        if value is None:
            return ""
        if self.many:
            single = dataclasses.replace(self, many=False)
            return ",".join(single.show(item) for item in value)
        if self.kind is bool:
            return "on" if value else "off"
        return _show(value) if self.kind is float else str(value)


def _show(number: float | None) -> str:
    return "" if number is None else f"{number:g}"


def model_spec_problem(value: str) -> str | None:
    """Why ``value`` is not a model file spec (engine.models.files, imported lazily: it is
    checked by form, not by loading, until a run starts)."""
    from engine.models.files import spec_problem

    return spec_problem(value)


def model_args_problem(value: str) -> str | None:
    from engine.models.files import args_problem

    return args_problem(value)


def setting(default: Any, help: str, label: str = "", **rules: Any) -> Any:
    """A ``TrainConfig`` field declared with its rules (see ``Setting``)."""
    return dataclasses.field(default=default, metadata={"help": help, "label": label, **rules})


@dataclass
class TrainConfig:
    """Every setting of a run; defaults are study §3's."""

    model: str = setting(DEFAULT_MODEL, "the network: " + "; ".join(
        f"{name} ({about})" for name, about in MODEL_ABOUT.items()) + "; or a network of your"
        " own, FILE.py:ClassName or package.module:ClassName (loading it runs its code; the"
        " run keeps a copy of its source)", choices=MODEL_NAMES, open_choices=True,
        noun="FILE.py:ClassName", test=model_spec_problem, metavar="NAME")  # fmt: skip
    model_args: str = setting("", "your network's constructor arguments, a JSON object such"
                              ' as {"width": 64} (blank: none)', "model args",
                              test=model_args_problem, noun="a JSON object", in_form=False,
                              metavar="JSON")  # fmt: skip
    epochs: int = setting(15, "passes over the training set", minimum=1, maximum=10_000)
    optimiser: str = setting("sgd", "sgd (the study's, with momentum) or adam (Wong et al.'s"
                             " for FGSM-RS; try --lr 0.005 --weight-decay 0)",
                             choices=OPTIMISERS)  # fmt: skip
    lr: float = setting(0.1, "learning rate (the peak of the schedule)", "learning rate",
                        minimum=0, above_minimum=True, maximum=10)  # fmt: skip
    momentum: float = setting(0.9, "SGD momentum, or Adam's first beta", minimum=0, maximum=1,
                              below_maximum=True)  # fmt: skip
    beta2: float = setting(0.999, "Adam's second beta: how slowly its average of squared"
                           " gradients forgets (sgd ignores it)", "adam beta2", minimum=0,
                           maximum=1, below_maximum=True)  # fmt: skip
    schedule: str = setting("auto", "the learning rate's schedule: cosine (the study's, to 0"
                            " over the run, per epoch), onecycle (warm-up then cosine, per"
                            " batch), or auto: onecycle for fgsm-rs (Wong et al.'s cyclic rate,"
                            " without which a short fgsm-rs run can stay at chance), else cosine",
                            choices=SCHEDULES)  # fmt: skip
    weight_decay: float = setting(5e-4, "L2 weight decay", "weight decay", minimum=0, maximum=1)
    # Soft targets: 1 - s on the true class, s spread over all (Szegedy et al. 2016).
    label_smoothing: float = setting(0.0, "cross-entropy against targets smoothed by this much"
                                     " (0: none, as in the study)", "label smoothing",
                                     minimum=0, maximum=0.5)  # fmt: skip
    batch_size: int = setting(100, "images per training step", "batch size",
                              minimum=1, maximum=60_000)  # fmt: skip
    # Scoring in eval mode gives the same numbers at any batch size. Bigger is not faster on a
    # CPU: batches of 1,000 outgrow its caches (measured in docs/results.md, "Fast: time to
    # 99%"); on a GPU the difference is a few ms a scoring.
    eval_batch_size: int = setting(SCORING_BATCH, "batch size for validation and test (results do not"
                                   " depend on it)", "eval batch", minimum=1, maximum=100_000)  # fmt: skip
    seed: int = setting(0, "seed of the split, the initial weights and the shuffling",
                        minimum=0, maximum=2**32 - 1)  # fmt: skip
    device: str = setting("auto", f"where to train: {DEVICE_AUTO}",
                          choices=DEVICES)  # fmt: skip
    # A stratified N-image training subset, for quick runs.
    subset: int | None = setting(None, "train on a stratified N-image subset (quick runs)",
                                 minimum=10, maximum=60_000, optional=True, metavar="N")  # fmt: skip
    # An MNIST-format folder; None: cache / offline copy / download. The app's own --data
    # sets it, so the form leaves it out.
    data: str | None = setting(None, "a folder with the four MNIST-format idx files (.gz or"
                               " not)", optional=True, in_form=False, metavar="DIR")  # fmt: skip
    # Random shifts of up to this many pixels per training image; 0 (the study's recipe)
    # turns them off.
    augment: int = setting(0, "shift each training image randomly by up to this many pixels"
                           " (0: none, as in the study)", "augment (px)", minimum=0, maximum=8,
                           metavar="PIXELS")  # fmt: skip
    # Weights through training (engine.runs.snapshots): the cost is measured in docs/results.md.
    snapshots: str = setting("all", "keep the weights at each epoch's end (epochs), and also"
                             " before training and after 10, 50 and 200 batches (all), for"
                             " analyses at any moment (--epoch N, --at batch:50); none keeps"
                             " none", choices=SNAPSHOTS)  # fmt: skip
    # Test-time augmentation (engine.training.evaluation.ShiftedViews): validation and test score
    # five views of each image; the test accuracy without it is reported beside.
    tta: bool = setting(False, "score validation and test on each image and its four"
                        " one-pixel shifts, averaged (test-time augmentation; the accuracy"
                        " without it is reported too; analyses look at the plain network)",
                        "shift TTA")  # fmt: skip
    # TensorBoard logs written live beside the run's own (engine.export.tensorboard).
    tensorboard: str | None = setting(None, "also write TensorBoard logs, live, into this"
                                      " folder (one sub-folder per run; `tensorboard --logdir"
                                      " DIR` shows them; needs the tensorboard extra)",
                                      "TensorBoard folder", optional=True, metavar="DIR")  # fmt: skip
    # Speed settings, measured in bench/train_speed.py; they do not change the accuracy.
    precision: str = setting("auto", "the arithmetic of training: bf16 computes in bfloat16"
                             " (autocast: about 1.5-2x faster where the CPU or GPU has it, the"
                             " same accuracy), fp32 in plain float32, auto bf16 where the hardware"
                             " has it and fp32 elsewhere", choices=PRECISIONS)  # fmt: skip
    channels_last: bool = setting(True, "NHWC memory layout for the convolutions (about 2x"
                                  " faster with oneDNN on a CPU)", "channels last")  # fmt: skip
    cuda_graphs: bool = setting(True, "on a CUDA GPU, record a clean SGD training step once"
                                " as a CUDA graph and replay it for each batch (the study's"
                                " small batches are launch-bound there); no effect elsewhere",
                                "CUDA graphs")  # fmt: skip

    # Adversarial training (study's extension; Madry et al. 2018, Wong et al. 2020, Zhang et
    # al. 2019). Off by default: the study trains on clean images.
    adversarial: str = setting("none", "train on attacked images: fgsm-rs (Wong et al.: one"
                               " step from a random start, ~2x a clean epoch), pgd (Madry et"
                               " al.) or trades (Zhang et al.); or on interval bounds: ibp"
                               " (Gowal et al.: trains the network to be provably robust, at"
                               " --eps + 0.1 as the paper does, with its eps ramped over"
                               " --eps-warmup; --model ibp-small proves the most; see `mnist-tui"
                               " certify`)", "defence",
                               choices=DEFENCES)  # fmt: skip
    eps: float = setting(0.3, "the defence's L-infinity radius, in pixel intensity (pixels run from 0 to 1)", "eps",
                         minimum=0, above_minimum=True, maximum=1)  # fmt: skip
    adv_steps: int = setting(10, "attack steps per training batch for pgd and trades (fgsm-rs"
                             " takes one)", "attack steps", minimum=1, maximum=1000)  # fmt: skip
    adv_step_size: float | None = setting(None, "size of each attack step; blank: 1.25 eps for"
                                          " fgsm-rs, 2.5 eps / steps for pgd and trades",
                                          "step size", minimum=0, above_minimum=True,
                                          maximum=1, optional=True)  # fmt: skip
    eps_warmup: int = setting(1, "epochs over which the defence's eps rises from 0 to --eps"
                              " (PGD training at the full eps from the first batch can stay at"
                              " chance)", "eps warm-up", minimum=0, maximum=10_000,
                              metavar="EPOCHS")  # fmt: skip
    trades_beta: float = setting(6.0, "TRADES' weight of the robustness term (larger: more"
                                 " robust, less accurate)", "trades beta", minimum=0,
                                 maximum=1000)  # fmt: skip

    @property
    def defended(self) -> bool:
        return self.adversarial != "none"

    @property
    def lr_schedule(self) -> str:
        """The schedule the run uses: ``schedule``, with auto resolved."""
        if self.schedule != "auto":
            return self.schedule
        return "onecycle" if self.adversarial == "fgsm-rs" else "cosine"

    def attack_step_size(self, eps: float | None = None) -> float:
        """The step of the training attack at radius ``eps`` (the setting's by default): the
        step size setting, or the papers' rule."""
        eps = self.eps if eps is None else eps
        if self.adv_step_size is not None:
            return self.adv_step_size
        return 1.25 * eps if self.adversarial == "fgsm-rs" else 2.5 * eps / self.adv_steps

    def eps_at(self, progress: float) -> float:
        """The training attack's radius after ``progress`` epochs (fractional)."""
        if self.eps_warmup <= 0:
            return self.eps
        return self.eps * min(1.0, progress / self.eps_warmup)

    def validate(self) -> None:
        """Raise SettingError naming the first bad setting."""
        for spec in SETTINGS:
            spec.check(getattr(self, spec.name))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> TrainConfig:
        """A checked config from JSON data; SettingError if it is not one."""
        if not isinstance(data, dict):
            raise SettingError(f"expected an object of settings, got {type(data).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        # a run from before the schedule was a setting trained with the study's cosine
        data = {"schedule": "cosine", **data}
        config = cls(**{k: v for k, v in data.items() if k in names})
        config.validate()
        return config


def _declared(field: dataclasses.Field) -> Setting:
    kinds = {"int": int, "float": float, "str": str, "bool": bool}
    annotation = str(field.type).replace(" | None", "")
    meta = dict(field.metadata)
    return Setting(
        name=field.name,
        kind=kinds[annotation],
        default=field.default,
        label=meta.pop("label") or field.name.replace("_", " "),
        **meta,
    )


SETTINGS: tuple[Setting, ...] = tuple(_declared(f) for f in dataclasses.fields(TrainConfig))
SETTING = {spec.name: spec for spec in SETTINGS}


@dataclass(frozen=True)
class Recipe:
    """A named bundle of settings (each still overridable); measured in bench/time_to_accuracy.py."""

    name: str
    description: str
    settings: dict


# The fast recipe's settings (train_mnist_fast's network and optimiser); the accurate recipe
# is the same, longer, with shifts and shift TTA.
FAST = {
    "model": "fastnet",
    "epochs": 1,
    "batch_size": 256,
    "optimiser": "adam",
    "lr": 0.01,
    "momentum": 0.7,
    "beta2": 0.9,
    "weight_decay": 0.0,
    "schedule": "onecycle",
    "label_smoothing": 0.05,
}

RECIPES = {
    recipe.name: recipe
    for recipe in (
        Recipe(
            "study",
            "the study's: 15 epochs of batches of 100, SGD 0.1 with momentum, a cosine to 0",
            {},
        ),  # fmt: skip
        Recipe(
            "short",
            "the study's network in two epochs: batches of 128, a one-cycle schedule peaking"
            " at lr 0.1, label smoothing 0.05 (the fast recipe's schedule on the study's network)",
            {
                "epochs": 2,
                "batch_size": 128,
                "lr": 0.1,
                "schedule": "onecycle",
                "label_smoothing": 0.05,
            },
        ),  # fmt: skip
        Recipe(
            "fast",
            "99% in one epoch: fastnet (see --model), batches of 256, Adam"
            " (betas 0.7, 0.9) on a one-cycle schedule peaking at lr 0.01, no weight decay,"
            " label smoothing 0.05",
            FAST,
        ),  # fmt: skip
        Recipe(
            "accurate",
            "99.5% in three epochs: the fast recipe's network and optimiser, each training"
            " image shifted by up to a pixel, and validation and test scored with test-time"
            " augmentation by one-pixel shifts (the accuracy without it is reported too)",
            {**FAST, "epochs": 3, "augment": 1, "tta": True},
        ),  # fmt: skip
    )
}


def recipe_config(recipe: str, given: dict) -> TrainConfig:
    """The recipe's settings with ``given`` ones over them, checked."""
    if recipe not in RECIPES:
        raise SettingError(f"recipe: {recipe!r} is not one of {', '.join(RECIPES)}")
    config = TrainConfig(**{**RECIPES[recipe].settings, **given})
    config.validate()
    return config

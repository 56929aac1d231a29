"""MNIST-C's corruptions: none applied gives the clean accuracy exactly; each corruption
changes the images and keeps them pixels; one seed gives the same images; the published
folder is scored when given; bad requests are one line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine import runs
from engine.beyond.corruptions import CORRUPTIONS, cached_corrupted, corrupted, corruptions_of
from engine.subject import Subjects
from tui.cli.main import main

pytest.importorskip("skimage")


@pytest.fixture(scope="module")
def subject(trained_home):
    return Subjects(trained_home).get(runs.find_run(trained_home, "latest"))


def test_identity_is_the_clean_set(subject):
    images = subject.test.images.numpy()
    assert corrupted(images, "identity") is images
    scores = corruptions_of(subject, "shot_noise", None, 0, None)
    from engine.data import MEAN, STD
    from engine.pixels import to_pixels

    logits = subject.model((to_pixels(subject.test.images) - MEAN) / STD)
    clean = float((logits.argmax(1) == subject.test.labels).double().mean())
    assert scores.clean == clean


def test_corrupted_sets_are_kept_and_read_back_the_same(subject, tmp_path):
    images = subject.test.images[:20].numpy()
    made = cached_corrupted(images, "fog", 0, tmp_path)
    (kept,) = tmp_path.glob("fog-seed0-20-*.npy")
    assert np.array_equal(made, corrupted(images, "fog", 0))
    assert np.array_equal(cached_corrupted(images, "fog", 0, tmp_path), made)
    kept.write_bytes(b"damaged")  # made again, not trusted
    assert np.array_equal(cached_corrupted(images, "fog", 0, tmp_path), made)
    other = cached_corrupted(images, "fog", 1, tmp_path)  # another seed: another file
    assert not np.array_equal(other, made) and len(list(tmp_path.glob("fog-*.npy"))) == 2
    assert subject.cache is not None and subject.cache.name == "derived"


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_each_corruption_changes_the_images_keeps_them_pixels_and_repeats(subject, name):
    images = subject.test.images[:12].numpy()
    once, again = corrupted(images, name, seed=0), corrupted(images, name, seed=0)
    assert once.dtype == np.uint8 and once.shape == images.shape  # pixels 0-255, one per image
    assert not np.array_equal(once, images), name
    assert np.array_equal(once, again), name  # one seed, the same images


def test_the_corruptions_command_and_the_published_folder(trained_home, subject, tmp_path,
                                                          capsys):  # fmt: skip
    assert main(["--home", str(trained_home), "corruptions", "latest", "--only",
                 "stripe,fog", "--json"]) == 0  # fmt: skip
    result = json.loads(capsys.readouterr().out)
    assert set(result["corruptions"]) == {"stripe", "fog"}
    assert result["mean"] == pytest.approx(np.mean(list(result["corruptions"].values())))
    # the published layout: NAME/test_images.npy and test_labels.npy
    folder = tmp_path / "mnist_c"
    (folder / "stripe").mkdir(parents=True)
    np.save(folder / "stripe" / "test_images.npy", subject.test.images.numpy()[..., None])
    np.save(folder / "stripe" / "test_labels.npy", subject.test.labels.numpy())
    assert main(["--home", str(trained_home), "corruptions", "latest", "--only", "stripe",
                 "--mnist-c", str(folder), "--json"]) == 0  # fmt: skip
    published = json.loads(capsys.readouterr().out)
    assert published["corruptions"]["stripe"] == pytest.approx(published["clean"])
    assert main(["--home", str(trained_home), "corruptions", "latest", "--images", "20"]) == 0
    assert "mean of the corruptions" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--only", "snow"], "no corruption named snow"),
        (["--mnist-c", "/nonexistent/mnist_c", "--only", "fog"], "no fog/test_images.npy"),
    ],
)
def test_bad_corruption_requests_are_one_line(trained_home, capsys, args, said):
    run_id = runs.find_run(trained_home, "latest").name
    assert main(["--home", str(trained_home), "corruptions", run_id, *args]) == 2
    err = capsys.readouterr().err.strip()
    assert said in err and len(err.splitlines()) == 1

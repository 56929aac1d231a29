"""Looking deeper: what a channel responds to, the map of what the network learned, and its
confusions as pictures — each a declared analysis with a command, on the tiny trained run."""

from __future__ import annotations

import json

import pytest
import torch

from engine import runs
from engine.inside.channels import channel_peaks, receptive_field, top_images
from engine.inside.confusions import confusions
from engine.inside.embedding import embedding
from engine.models.zoo import build_model
from engine.subject import load_subject
from tui.cli.main import main


@pytest.fixture(scope="module")
def subject(trained_home):
    return load_subject(trained_home, runs.find_run(trained_home, "latest"))


def test_a_channels_top_images_excite_it_more_than_every_other_image(subject):
    found = top_images(subject.model, subject.test, "conv2", channel=5, count=6)
    peaks = channel_peaks(subject.model, subject.model.conv2, subject.test)[:, 5]
    others = [float(peaks[i]) for i in range(len(peaks)) if i not in found.indices]
    assert min(found.activations) >= max(others)
    assert found.activations == sorted(found.activations, reverse=True)
    assert found.activations[0] == pytest.approx(float(peaks.max()), rel=1e-5)
    for top, left, bottom, right in found.boxes:  # inside the image, the field's size or less
        assert 0 <= top < bottom <= 28 and 0 <= left < right <= 28
        assert bottom - top <= found.field and right - left <= found.field


def test_the_receptive_field_follows_the_layers_geometry():
    convnet = build_model("convnet")
    assert receptive_field(convnet, convnet.conv1).size == 3  # 3x3, padding 1
    field = receptive_field(convnet, convnet.conv2)  # 3x3 after a 2x2 pool: 8 pixels, step 2
    assert (field.size, field.jump) == (8, 2)
    assert field.box(0, 0) == (0, 0, 5, 5)  # pixels -3..4, clipped at the top-left corner
    assert field.box(6, 6) == (9, 9, 17, 17)


def test_a_dead_channel_is_said(subject):
    import copy

    model = copy.deepcopy(subject.model)
    with torch.no_grad():
        model.conv1.weight[3].zero_()
        model.conv1.bias[3] = -1.0  # its output -1 everywhere: its ReLU never passes anything
    found = top_images(model, subject.test, "conv1", channel=3)
    assert found.dead and "dead" in found.summary()
    assert not top_images(subject.model, subject.test, "conv1", channel=3).dead


def test_the_classes_separate_more_at_the_last_moment_than_before_training(trained_home):
    run_dir = runs.find_run(trained_home, "latest")
    before = load_subject(trained_home, run_dir, "start")
    after = load_subject(trained_home, run_dir, "best")
    first = embedding(before.model, before.test, images=100)
    last = embedding(after.model, after.test, images=100)
    assert last.silhouette > first.silhouette
    assert len(last.x) == len(last.labels) == 100 and last.layer == "fc2"


def test_a_pairs_images_are_that_pair(trained_home):
    # before training the network confuses plenty (the trained tiny run gets all right)
    subject = load_subject(trained_home, runs.find_run(trained_home, "latest"), "start")
    found = confusions(subject.model, subject.test, list(subject.classes), count=50)
    counts = [n for _, _, n in found.pairs]
    assert counts == sorted(counts, reverse=True)
    assert found.pair is not None and found.pair == found.pairs[0][:2]
    true, guess = found.pair
    predicted = found.predicted_probability
    assert predicted == sorted(predicted, reverse=True)
    from engine.data import normalise

    with torch.no_grad():
        guessed = subject.model(normalise(subject.test.images[found.indices])).argmax(1)
    assert guessed.tolist() == [guess] * len(found.indices)
    assert subject.test.labels[found.indices].tolist() == [true] * len(found.indices)
    assert len(found.indices) == min(50, found.pairs[0][2])


def test_the_commands_answer_in_json_and_refuse_bad_values(trained_home, capsys):
    home = str(trained_home)
    assert main(["--home", home, "top-images", "--layer", "conv1", "--channel", "2", "--count",
                 "4", "--json"]) == 0  # fmt: skip
    found = json.loads(capsys.readouterr().out)
    assert found["channel"] == 2 and len(found["images"]) == 4
    assert main(["--home", home, "embedding", "--images", "50", "--json"]) == 0
    mapped = json.loads(capsys.readouterr().out)
    assert len(mapped["points"]) == 50 and -1 <= mapped["silhouette"] <= 1
    assert main(["--home", home, "confusions", "--pair", "3,5", "--json"]) == 0
    pair = json.loads(capsys.readouterr().out)
    assert pair["pair"] == [3, 5]
    assert main(["--home", home, "embedding", "--epoch", "1", "--images", "20"]) == 0
    assert "epoch:1" in capsys.readouterr().out
    for argv, names in ((["top-images", "--layer", "fc1"], "no convolution named 'fc1'"),
                        (["top-images", "--channel", "99"], "channels 0-31"),
                        (["embedding", "--layer", "nope"], "no layer named 'nope'"),
                        (["confusions", "--pair", "3"], "two digits")):  # fmt: skip
        assert main(["--home", home, *argv]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        err = [line for line in err if not line.startswith("using run")]
        assert len(err) == 1 and names in err[0], err


def test_the_map_through_training_shares_one_set_of_axes(trained_home, capsys):
    from engine.runs.snapshots import moments

    run_dir = runs.find_run(trained_home, "latest")
    assert main(["--home", str(trained_home), "embedding", "--through", "--images", "60",
                 "--json"]) == 0  # fmt: skip
    maps = json.loads(capsys.readouterr().out)
    assert [m["moment"] for m in maps] == [*moments(run_dir), "best"]
    assert maps[-1]["silhouette"] > maps[0]["silhouette"]
    # one set of axes: the last moment's explained variance is its own fit's, on every map
    assert len({tuple(m["explained_variance"]) for m in maps}) == 1
    assert main(["--home", str(trained_home), "embedding", "--through", "--method", "tsne"]) == 2
    assert "--method pca" in capsys.readouterr().err


def test_the_app_steps_through_channels_and_layers(trained_home, tiny_folder):
    import asyncio

    from textual.widgets import Static

    from tests.app_setup import text_of, tiny_app, wait_for
    from tui.widgets.array_view import ArrayView

    async def scenario():
        app = tiny_app(trained_home, tiny_folder)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("c")
            title = app.screen.query_one("#top-title", Static)
            assert await wait_for(pilot, lambda: text_of(title).startswith("conv1 channel 0 of 32"))
            first = app.screen.query_one("#top-0", ArrayView)
            assert await wait_for(pilot, lambda: first.array is not None and "#" in first.caption)
            await pilot.press("right_square_bracket")
            assert await wait_for(pilot, lambda: "conv1 channel 1 of 32" in text_of(title))
            await pilot.press("left_square_bracket", "left_square_bracket")
            assert await wait_for(pilot, lambda: "conv1 channel 31 of 32" in text_of(title))
            await pilot.press("v")
            assert await wait_for(pilot, lambda: "conv2 channel 0 of 32" in text_of(title))
            shown = text_of(title)  # this tiny run's conv2 channel 0 happens to be dead
            assert "sees 8x8 pixels" in shown or "dead: never above 0" in shown
        return True

    assert asyncio.run(scenario())


def test_the_app_goes_from_a_cell_of_the_confusion_matrix_to_its_images(trained_home, tiny_folder):
    import asyncio

    from textual.widgets import DataTable, Static

    from tests.app_setup import text_of, tiny_app, wait_for

    async def scenario():
        app = tiny_app(trained_home, tiny_folder)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("x")
            matrix = app.screen.query_one("#conf-matrix", DataTable)
            assert await wait_for(pilot, lambda: matrix.row_count == 10)
            title = app.screen.query_one("#conf-title", Static)
            assert await wait_for(pilot, lambda: "test images wrong" in text_of(title))
            matrix.focus()
            matrix.move_cursor(row=3, column=6)  # true 3, predicted 5
            await pilot.press("enter")
            assert await wait_for(pilot, lambda: "shown: 3 taken for 5" in text_of(title))
            matrix.move_cursor(row=4, column=5)  # the diagonal: right answers
            await pilot.press("enter")
            status = app.screen.query_one(".status", Static)
            assert await wait_for(pilot, lambda: "right answers" in text_of(status))
        return True

    assert asyncio.run(scenario())


def test_vs_shows_the_same_analysis_on_a_second_run(trained_home, tmp_path, capsys):
    import shutil

    home = tmp_path / "home"
    first = runs.find_run(trained_home, "latest")
    second = runs.runs_folder(home) / (first.name[:-4] + "b0th")
    shutil.copytree(first, runs.runs_folder(home) / first.name)
    shutil.copytree(runs.find_run(trained_home, "latest"), second)
    state = torch.load(second / "best.pt", weights_only=True)  # the second network differs:
    state["model"]["fc2.bias"] += torch.arange(10.0)  # its last layer's bias moved
    torch.save(state, second / "best.pt")
    argv = ["--home", str(home), "predict", first.name, "--index", "0,1", "--vs", second.name]
    assert main([*argv, "--json"]) == 0
    both = json.loads(capsys.readouterr().out)["runs"]
    assert [b["run"] for b in both] == [first.name, second.name]
    assert [p["index"] for p in both[0]["result"]] == [p["index"] for p in both[1]["result"]]
    assert both[0]["result"][0]["probabilities"] != both[1]["result"][0]["probabilities"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert f"run {first.name}" in out and f"run {second.name}" in out
    assert main(["--home", str(home), "embedding", first.name, "--vs", second.name,
                 "--images", "20", "--json"]) == 0  # fmt: skip
    maps = json.loads(capsys.readouterr().out)["runs"]
    assert len(maps) == 2 and all(len(m["result"]["points"]) == 20 for m in maps)
    assert main(["--home", str(home), "filters", first.name, "--vs", first.name]) == 2
    assert "same run" in capsys.readouterr().err


def two_runs(trained_home, tmp_path):
    """A home with the trained run and a copy whose last layer differs: two networks."""
    import shutil

    home = tmp_path / "home"
    first = runs.find_run(trained_home, "latest")
    second = runs.runs_folder(home) / (first.name[:-4] + "b0th")
    shutil.copytree(first, runs.runs_folder(home) / first.name)
    shutil.copytree(first, second)
    state = torch.load(second / "best.pt", weights_only=True)
    state["model"]["fc2.bias"] += torch.arange(10.0)
    torch.save(state, second / "best.pt")
    return home, first.name, second.name


def test_the_app_shows_two_runs_side_by_side(trained_home, tiny_folder, tmp_path):
    """Two runs picked in the Runs screen and s: a picture screen shows both, each drawn as
    its `--vs` command draws it; the moment steps for both; a bad option is one line."""
    import asyncio

    from textual.widgets import DataTable, Input, Static

    from tests.app_setup import text_of, tiny_app, wait_for

    home, first, second = two_runs(trained_home, tmp_path)

    async def scenario():
        app = tiny_app(home, tiny_folder)
        async with app.run_test(size=(120, 36)) as pilot:
            await pilot.press("3")
            table = app.screen.query_one("#all-runs", DataTable)
            assert await wait_for(pilot, lambda: table.row_count == 2)
            await pilot.press("space", "j", "space", "s")
            status = app.screen.query_one(".status", Static)
            assert await wait_for(pilot, lambda: "beside" in text_of(status))
            assert {app.selected_run, app.versus_run} == {first, second}
            await pilot.press("escape", "6")  # filters, now of both
            left = app.screen.query_one("#side-left-body", Static)
            right = app.screen.query_one("#side-right-body", Static)
            assert await wait_for(pilot, lambda: "conv1: 32 filters" in text_of(right), 60)
            assert "conv1: 32 filters" in text_of(left)
            assert app.selected_run in text_of(left) and app.versus_run in text_of(right)
            await pilot.press("comma")  # an earlier moment, for both
            title = app.screen.query_one("#side-title", Static)
            assert await wait_for(pilot, lambda: "epoch:" in text_of(title))
            heading = app.screen.query_one("#side-right-heading", Static)
            assert await wait_for(pilot, lambda: "— epoch:" in text_of(heading), 60)
            options = app.screen.query_one("#side-options", Input)
            options.value = "--nosuch"
            await pilot.press("o", "enter")
            assert await wait_for(
                pilot, lambda: "unrecognized arguments: --nosuch" in text_of(left), 60
            )
            assert len(text_of(left).strip().splitlines()) <= 3  # one sentence, wrapped
        return True

    assert asyncio.run(scenario())


def test_the_app_draws_the_map_at_every_moment(trained_home, tiny_folder):
    import asyncio

    from textual.widgets import Static

    from tests.app_setup import text_of, tiny_app, wait_for
    from tui.widgets.chart_view import ChartView

    async def scenario():
        app = tiny_app(trained_home, tiny_folder)
        async with app.run_test(size=(120, 36)) as pilot:
            await pilot.press("e")
            title = app.screen.query_one("#embedding-title", Static)
            assert await wait_for(pilot, lambda: "silhouette" in text_of(title), 60)
            moments = len(app.screen.series)
            series = app.screen.series  # the title names the moment and its place on the chart
            assert moments > 2 and text_of(title).startswith(f"best ({moments - 1} on the chart)")
            chart = app.screen.query_one(ChartView)
            silhouettes = chart.series["silhouette"]
            assert len(silhouettes) == moments and silhouettes[-1] > silhouettes[0]
            assert "each image as its digit" in text_of(app.screen.query_one("#embedding-map"))
            await pilot.press("comma")
            assert await wait_for(
                pilot,
                lambda: text_of(title).startswith(f"{series[-2]} ({moments - 2} on the chart)"),
            )
            assert "fc2: PCA" in text_of(app.screen.query_one("#embedding-map"))
            await pilot.press("n")  # the next layer after fc2 (the last): the first, conv1
            assert await wait_for(
                pilot, lambda: "conv1: PCA" in text_of(app.screen.query_one("#embedding-map")), 60
            )
        return True

    assert asyncio.run(scenario())

"""The app, driven by key presses through Textual's Pilot on a tiny engine set-up."""

from __future__ import annotations

import random

import pytest
from textual.widgets import DataTable, OptionList, Static

from engine import runs
from engine.runs import process as run_process
from tests.app_setup import long_run_app, start_from_form, text_of, tiny_app, wait_for
from tui.screens.catalogue import EXPERIMENTS, experiments
from tui.widgets.array_view import ArrayView


def run(coroutine):
    import asyncio

    return asyncio.run(coroutine)


def status(app) -> str:
    return " ".join(text_of(s) for s in app.screen.query(".status"))


def test_home_lists_experiments_and_runs(trained_home, tiny_folder):
    async def scenario():
        app = tiny_app(trained_home, tiny_folder)
        async with app.run_test(size=(120, 40)) as pilot:
            options = app.screen.query_one("#experiments", OptionList)
            # the study's experiments, then any declared analysis drawn by the generic screen
            # (every one in the app has a screen of its own now: the toy analysis's test
            # checks the generic one)
            assert options.option_count == len(experiments()) >= len(EXPERIMENTS)
            table = app.screen.query_one("#runs", DataTable)
            assert await wait_for(pilot, lambda: table.row_count == 1)
            assert "finished" in table.get_row_at(0)
            await pilot.press("j", "j")
            assert options.highlighted == 2
            await pilot.press("k")
            assert options.highlighted == 1
            await pilot.press("enter")
            assert type(app.screen).__name__ == "TrainScreen"
            await pilot.press("escape")
            assert type(app.screen).__name__ == "HomeScreen"
            await pilot.press("question_mark")
            assert type(app.screen).__name__ == "HelpScreen"
            assert "Occlusion" in text_of(app.screen.query_one("#help Static", Static))
            await pilot.press("escape", "q")
        assert app.return_code == 0

    run(scenario())


@pytest.mark.parametrize("experiment", EXPERIMENTS, ids=lambda e: e.title)
def test_number_keys_open_every_experiment(trained_home, tiny_folder, experiment):
    async def scenario():
        app = tiny_app(trained_home, tiny_folder)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press(experiment.key)
            await pilot.pause(0.1)
            assert type(app.screen) is experiment.screen()
            await pilot.pause(0.5)
            await pilot.press("escape")
            assert type(app.screen).__name__ == "HomeScreen"

    run(scenario())


def test_architecture_shows_the_spec_table_and_switches_model(trained_home, tiny_folder):
    async def scenario():
        app = tiny_app(trained_home, tiny_folder)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("4")
            table = app.screen.query_one("#layers", DataTable)
            assert await wait_for(pilot, lambda: table.row_count == 8)
            assert table.get_row_at(7)[4:6] == ["799,078", "40,494"]
            await pilot.press("m")
            assert await wait_for(pilot, lambda: table.row_count == 12)
            assert table.get_row_at(11)[4] == "800,226"

    run(scenario())


def test_architecture_takes_m_pressed_before_its_network_is_known(trained_home, tiny_folder):
    """m at once, while the analysed run's network is still being read, used to end the app
    with a traceback (None is not in list); now it says to wait, and the table comes."""

    async def scenario():
        app = tiny_app(trained_home, tiny_folder)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("4")
            screen = app.screen
            table = screen.query_one("#layers", DataTable)
            status = lambda: text_of(screen.query_one(".status"))  # noqa: E731
            assert await wait_for(pilot, lambda: table.row_count == 8)
            # as it is until the worker has read the run (torch's import, a slow disk: seconds
            # in a fresh app; here the tiny run is read before a key could come)
            screen.model = None
            await pilot.press("m")
            assert app.screen is screen and "m once it is shown" in status()
            screen.load()  # the worker that was still reading
            assert await wait_for(pilot, lambda: "the next of" in status())
            await pilot.press("m")  # once shown, m goes on to the next network
            assert await wait_for(pilot, lambda: table.row_count == 12)

    run(scenario())


def test_occlusion_cursor_and_patch_keys(trained_home, tiny_folder):
    async def scenario():
        app = tiny_app(trained_home, tiny_folder)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("7")
            readout = app.screen.query_one("#occ-readout", Static)
            assert await wait_for(
                pilot,
                lambda: "cell (0, 0): patch on rows 0-13" in text_of(readout),
            )
            await pilot.press("right", "right", "down")
            assert "cell (1, 2): patch on rows 2-15, columns 4-17" in text_of(readout)
            screen = app.screen
            value = float(text_of(readout).split(" P(")[1].split("= ")[1].split(";")[0])
            assert value == pytest.approx(float(screen.result.true_probability[1, 2]), abs=1e-4)
            await pilot.press("plus")
            assert await wait_for(
                pilot, lambda: screen.result is not None and len(screen.result.offsets) == 7
            )
            await pilot.press("s")
            assert await wait_for(pilot, lambda: len(screen.result.offsets) == 5)  # 0,3,...,12
            # keys pressed faster than the maps are computed: the title tells the maps shown
            await pilot.press("plus", "plus", "plus", "minus")
            assert await wait_for(pilot, lambda: screen.result.patch == 20)
            title = text_of(app.screen.query_one("#occ-title", Static))
            size = len(screen.result.offsets)
            assert (
                f"patch 20, stride 3, fill 0: {screen.result.changed_positions} of {size**2}"
                in title
            )

    run(scenario())


def test_predictions_page_and_filter(trained_home, tiny_folder):
    async def scenario():
        app = tiny_app(trained_home, tiny_folder)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("5")
            first = app.screen.query_one("#digit-0")
            assert await wait_for(pilot, lambda: first.caption.startswith("#0 "))
            await pilot.press("n")
            assert await wait_for(pilot, lambda: first.caption.startswith("#8 "))
            await pilot.press("w")  # the tiny model gets every image right
            assert await wait_for(pilot, lambda: "no misclassified images" in status(app))

    run(scenario())


def test_filters_views_and_keys(trained_home, tiny_folder):
    async def scenario():
        app = tiny_app(trained_home, tiny_folder)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("6")
            title = app.screen.query_one("#filters-title", Static)
            assert await wait_for(pilot, lambda: "conv1: 32 filters" in text_of(title))
            await pilot.press("right_square_bracket", "right_square_bracket")
            assert await wait_for(pilot, lambda: "conv2 filter 2:" in text_of(title))
            await pilot.press("n")
            assert await wait_for(pilot, lambda: "test image #1" in text_of(title))

    run(scenario())


def test_attack_screens_finish(trained_home, tiny_folder):
    async def scenario():
        app = tiny_app(trained_home, tiny_folder)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("8")
            assert await wait_for(pilot, lambda: status(app).startswith("done:"))
            chart = app.screen.query_one("#synth-chart")
            assert chart.series and len(chart.series["3"]) > 1
            await pilot.press("m")  # L2 steps from grey, with their own step size
            assert app.screen.method == "l2" and app.screen.step_size == 0.5
            assert await wait_for(pilot, lambda: status(app).startswith("done:"))
            await pilot.press("escape", "9")
            assert await wait_for(pilot, lambda: "MSE to the real image" in status(app))
            await pilot.press("escape", "0")
            assert await wait_for(
                pilot, lambda: "flipped after" in status(app) or "did not flip" in status(app)
            )
            await pilot.press("t")
            assert app.screen.target == 0
            await pilot.press("escape", "r")
            table = app.screen.query_one("#rob-table", DataTable)
            assert await wait_for(pilot, lambda: table.row_count == 7)
            robust = [float(table.get_row_at(i)[2].rstrip("%")) for i in range(7)]
            assert robust == sorted(robust, reverse=True)

    run(scenario())


def test_robustness_cycles_attacks_and_compares_defences(trained_home, tiny_folder):
    async def scenario():
        app = tiny_app(trained_home, tiny_folder, givens={"robustness": {"limit": 20}})
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("r")
            table = app.screen.query_one("#rob-table", DataTable)
            assert await wait_for(pilot, lambda: table.row_count == 7)
            await pilot.press("a")
            assert app.screen.attack == "pgd"
            await pilot.press("m")  # the latest finished run of each defence, overlaid
            assert await wait_for(pilot, lambda: "at eps 0.3" in status(app), 60)
            row = table.get_row_at(0)
            assert row[1] == "none" and all(cell.endswith("%") for cell in row[2:])
            assert [c.label.plain for c in table.ordered_columns][:3] == ["run", "defence", "eps 0"]

    run(scenario())


def test_draw_updates_the_prediction(trained_home, tiny_folder):
    async def scenario():
        app = tiny_app(trained_home, tiny_folder)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("d")
            assert await wait_for(pilot, lambda: "the network says" in status(app))
            canvas = app.screen.query_one("#draw-canvas")
            await pilot.press("space", "right", "space")
            assert canvas.pixels.max() == 255 and canvas.pixels[14, 15] == 255
            await pilot.press("c")
            assert canvas.pixels.max() == 0

    run(scenario())


def test_replayed_run_shows_its_figures(trained_home, tiny_folder):
    summary = runs.summarize(runs.find_run(trained_home, "latest"))

    async def scenario():
        app = tiny_app(trained_home, tiny_folder)
        async with app.run_test(size=(120, 50)) as pilot:
            await pilot.press("tab", "enter")
            assert type(app.screen).__name__ == "TrainScreen"
            table = app.screen.query_one("#epoch-table", DataTable)
            assert await wait_for(pilot, lambda: table.row_count == 3)
            results = text_of(app.screen.query_one("#results", Static))
            assert f"test accuracy {summary.test_accuracy:.2%}" in results
            assert "confusion matrix" in results
            assert table.get_row_at(2)[4] == f"{summary.best_val_accuracy:.2%}"

    run(scenario())


def test_compare_runs_side_by_side(trained_home, tiny_folder):
    async def scenario():
        app = tiny_app(trained_home, tiny_folder)
        async with app.run_test(size=(120, 50)) as pilot:
            await pilot.press("3")
            table = app.screen.query_one("#all-runs", DataTable)
            assert await wait_for(pilot, lambda: table.row_count == 1)
            await pilot.press("space")
            side = app.screen.query_one("#side-by-side", DataTable)
            assert side.row_count == 8  # defence, best val, robust val, test acc ...
            assert app.screen.query_one("#cmp-acc").series

    run(scenario())


@pytest.mark.parametrize(
    ("graphics", "presses"),
    [
        ("halfblock", 400),
        ("sixel", 200),
        # the long walks: in CI (MNIST_TUI_LONG_TESTS=1), not in every local run
        pytest.param("halfblock", 2000, marks=pytest.mark.long),
        pytest.param("ascii", 600, marks=pytest.mark.long),
    ],
)
def test_random_keys_never_crash(trained_home, tiny_folder, graphics, presses):
    keys = list("jk1234567890rdnpwvmgstTSxlc+-[]") + ["escape", "enter", "tab", "up", "down", "left",
                                                      "right", "space", "question_mark"]  # fmt: skip
    rng = random.Random(0)

    async def scenario():
        app = tiny_app(trained_home, tiny_folder, graphics=graphics,
                       givens={"synthesize": {"steps": 5}, "targeted": {"steps": 5},
                               "noise": {"max_steps": 5}, "robustness": {"limit": 5}})  # fmt: skip
        async with app.run_test(size=(100, 30)) as pilot:
            for _ in range(presses):
                key = rng.choice(keys)
                if key == "enter" and type(app.screen).__name__ == "TrainScreen":
                    continue  # would start real runs
                await pilot.press(key)
            await pilot.pause(0.5)
        assert app.return_code in (None, 0)

    run(scenario())


def test_quitting_leaves_the_run_going_and_it_can_be_reattached(home, tiny_folder):
    async def start_then_quit():
        app = long_run_app(home, tiny_folder)
        async with app.run_test(size=(120, 50)) as pilot:
            screen = await start_from_form(pilot, app)
            run_id = screen.run_id
            await pilot.press("q")
        return run_id

    run_id = run(start_then_quit())
    run_dir = runs.find_run(home, run_id)
    assert run_process.process_alive(run_dir)
    assert runs.summarize(run_dir).status == "running"

    async def reattach_and_stop():
        app = tiny_app(home, tiny_folder)
        async with app.run_test(size=(120, 50)) as pilot:
            table = app.screen.query_one("#runs", DataTable)
            assert await wait_for(pilot, lambda: table.row_count == 1)
            assert "running" in table.get_row_at(0)
            await pilot.press("tab", "enter")
            screen = app.screen
            assert screen.run_id == run_id
            assert await wait_for(
                pilot,
                lambda: (
                    screen.follower is not None and screen.follower.state.last_batch is not None
                ),
            )
            await pilot.press("x")
            assert await wait_for(pilot, lambda: screen.follower.over, 60)
            assert "stopped after" in status(app)

    run(reattach_and_stop())
    assert runs.summarize(run_dir).status == "stopped"


@pytest.mark.parametrize("mode", ["sixel", "kitty"])
def test_pixel_graphics_put_pictures_in_the_views(trained_home, tiny_folder, mode):
    async def scenario():
        app = tiny_app(trained_home, tiny_folder, graphics=mode)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("7")
            readout = app.screen.query_one("#occ-readout", Static)
            assert await wait_for(pilot, lambda: "cell (" in text_of(readout))
            from textual_image._terminal import get_cell_size

            cell = get_cell_size()
            views = list(app.screen.query(ArrayView))
            pictures = [view.query_one(".array-picture") for view in views]
            assert len(pictures) == 3
            for view, picture in zip(views, pictures, strict=True):
                # each picture fills the cells its view gives it, exactly
                width, height = view._cells(view.best_scale())
                assert picture.image.size == (width * cell.width, height * cell.height)
                assert width <= view.size.width and height < view.size.height
            # with pixels, the three share the screen: larger than at whole scales
            assert pictures[0].image.width > 28 * cell.width
            assert pictures[1].image.width > 16 * cell.width

    run(scenario())


@pytest.mark.parametrize(("width", "columns"), [(80, 4), (120, 6)])
def test_the_train_form_fits_the_terminal(trained_home, tiny_folder, width, columns):
    from textual.widgets import Input, Select

    from engine.config import SETTINGS

    async def scenario():
        app = tiny_app(trained_home, tiny_folder)
        async with app.run_test(size=(width, 24)) as pilot:
            await pilot.press("1")
            await pilot.pause(0.2)
            grid = app.screen.query_one("#form-grid")
            assert grid.styles.grid_size_columns == columns  # label and field, 2 or 3 a row
            fields = list(app.screen.query(Input)) + list(app.screen.query(Select))
            # every setting declared for the form, and nothing else, with no screen code
            assert {f.id for f in fields} == {s.name for s in SETTINGS if s.in_form} | {"recipe"}
            assert "augment" in {f.id for f in fields}
            assert all(0 < f.region.right <= width for f in fields)

    run(scenario())


def test_choosing_the_fast_recipe_fills_the_form_with_its_network_and_optimiser(
    trained_home, tiny_folder
):
    from textual.widgets import Input, Select

    async def scenario():
        app = tiny_app(trained_home, tiny_folder)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("1")
            await pilot.pause(0.2)
            app.screen.query_one("#recipe", Select).value = "fast"
            await pilot.pause(0.2)
            form = {f.id: f.value for f in app.screen.query(Input)}
            form |= {f.id: f.value for f in app.screen.query(Select)}
            assert (form["model"], form["optimiser"], form["epochs"]) == ("fastnet", "adam", "1")
            assert (form["momentum"], form["beta2"]) == ("0.7", "0.9")  # Adam's betas
            assert "Train fastnet" in text_of(app.screen.query_one("#train-title"))

    run(scenario())


def test_charts_redraw_only_for_new_data_and_draw_two_points_a_column():
    from tui.draw.charts import thin
    from tui.widgets.chart_view import ChartView

    chart = ChartView()
    chart.set_data({"validation": ([1, 2], [90.0, 95.0])})
    assert chart._dirty
    chart._dirty = False  # as after a redraw
    chart.set_data({"validation": ([1, 2], [90.0, 95.0])})  # polled again, nothing new
    assert not chart._dirty
    chart.set_data({"validation": ([1, 2, 3], [90.0, 95.0, 97.0])})
    assert chart._dirty
    xs, ys = thin(list(range(1000)), [float(i % 2) for i in range(1000)], most=100)
    assert len(xs) == len(ys) == 100 and xs[0] == 4.5 and set(ys) == {0.5}


def test_the_open_home_shows_a_run_named_from_another_terminal(trained_home, tiny_folder, tmp_path):
    import shutil

    from engine import runs
    from tui.screens import home as home_screen

    home = tmp_path / "home"
    shutil.copytree(trained_home, home)
    run_dir = runs.list_runs(home)[-1]

    async def scenario():
        app = tiny_app(home, tiny_folder)
        async with app.run_test(size=(120, 40)) as pilot:
            table = app.screen.query_one("#runs", DataTable)
            assert await wait_for(pilot, lambda: table.row_count == 1)
            runs.name_run(run_dir, "n9")  # as `mnist-tui name` would
            shown = lambda: "n9" in " ".join(map(str, table.get_row_at(0)))  # noqa: E731
            assert await wait_for(pilot, shown, home_screen.RELIST_SECONDS + 4), table.get_row_at(0)

    run(scenario())


def test_a_chart_draws_new_data_at_once_then_at_most_once_an_interval_and_says_how_to_fill_it():
    from textual.app import App

    from tui.widgets.chart_view import ChartView

    class OneChart(App):
        def compose(self):
            yield ChartView("loss", "step", seconds=3.0, empty="Space picks runs")

    async def scenario():
        app = OneChart()
        async with app.run_test(size=(60, 20)) as pilot:
            chart = app.query_one(ChartView)
            await pilot.pause(0.1)
            assert "Space picks runs" in chart.render().plain  # its own hint, not a default
            drawn = chart.redraws
            chart.set_data({"train": ([1, 2], [0.9, 0.5])})
            await pilot.pause(0.1)
            assert chart.redraws == drawn + 1  # the first data shows without waiting
            for step in range(3, 8):  # data every 0.1 s: drawn again only after 3 s
                chart.set_data({"train": (list(range(1, step)), [1 / i for i in range(1, step)])})
                await pilot.pause(0.1)
            assert chart.redraws == drawn + 1
            assert await wait_for(pilot, lambda: chart.redraws == drawn + 2, 10)
            assert chart.xs["train"][-1] == 6  # the newest

    run(scenario())


def test_help_lists_each_key_once_a_section_and_every_screen_has_keys():
    from tui.app import MnistApp
    from tui.screens.help import key_lines

    sections: dict[str, list[str]] = {}
    for line in key_lines(tuple(MnistApp.BINDINGS)):
        if line.startswith("[b]"):
            current = sections.setdefault(line[3:-3], [])
        elif line.strip():
            current.append(line.split()[0])
    for name, keys in sections.items():
        assert keys, f"{name} lists no keys"
        assert len(keys) == len(set(keys)), (name, keys)
    assert {"space", "x", "c"} <= set(sections["Draw"])
    assert "b" in sections["Targeted attack"]


def test_analysis_settings_are_keys_on_their_screens(trained_home, tiny_folder):
    async def scenario():
        app = tiny_app(trained_home, tiny_folder)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("8")
            assert await wait_for(pilot, lambda: status(app).startswith("done:"))
            await pilot.press("plus", "z", "k")  # steps x2, step size x2, clamp off
            screen = app.screen
            assert (screen.steps, screen.step_size, screen.clamp) == (80, 0.02, False)
            assert await wait_for(
                pilot,
                lambda: (
                    "80 steps of 0.02, unclamped" in status(app) or status(app).startswith("done:")
                ),
            )
            await pilot.press("escape", "9", "minus")
            assert app.screen.steps == 20
            await pilot.press("escape", "5", "g")
            await pilot.press(*"42", "enter")
            first = app.screen.query_one("#digit-0")
            assert await wait_for(pilot, lambda: first.caption.startswith("#42 "))
            await pilot.press("escape", "escape", "b")
            assert app.checkpoint == "last"

    run(scenario())


def test_at_80x24_a_chart_is_readable_and_no_number_is_cut(trained_home, tiny_folder):
    """Pictures and a chart take turns on a short terminal (v): the chart then has rows to
    read; an attribution map's score is never cut off its caption."""

    async def scenario():
        app = tiny_app(trained_home, tiny_folder)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("a")
            assert await wait_for(pilot, lambda: "most faithful here" in status(app), 60)
            chart = app.screen.query_one("#attr-chart")
            assert not chart.display or chart.size.height == 0  # pictures first
            captions = [view.caption for view in app.screen.query(ArrayView)]
            views = {view.caption: view for view in app.screen.query(ArrayView)}
            for caption in captions:
                if caption.startswith("integrated-gradients"):
                    shown = " ".join(views[caption]._caption_lines())
                    assert caption.split()[-1] in shown  # the score, whole
            await pilot.press("v")
            await pilot.pause(0.3)
            assert chart.size.height >= 14  # about 10 rows of plot
            await pilot.press("escape", "8")
            await pilot.press("v")
            await pilot.pause(0.3)
            assert app.screen.query_one("#synth-chart").size.height >= 14

    run(scenario())


def test_a_followed_run_at_80x24_shows_its_charts_then_its_tables(trained_home, tiny_folder):
    async def scenario():
        app = tiny_app(trained_home, tiny_folder)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("tab", "enter")
            assert await wait_for(pilot, lambda: "finished" in status(app))
            charts, table = app.screen.query_one("#charts"), app.screen.query_one("#epoch-table")
            await pilot.pause(0.2)
            assert charts.size.height >= 14 and not table.display
            await pilot.press("v")
            await pilot.pause(0.2)
            assert table.display and not charts.display
        app = tiny_app(trained_home, tiny_folder)
        async with app.run_test(size=(120, 40)) as pilot:  # tall: both at once
            await pilot.press("tab", "enter")
            assert await wait_for(pilot, lambda: "finished" in status(app))
            await pilot.pause(0.2)
            assert app.screen.query_one("#charts").size.height >= 18
            assert app.screen.query_one("#epoch-table").display

    run(scenario())


def test_a_red_form_field_keeps_its_reason_when_the_focus_leaves(trained_home, tiny_folder):
    async def scenario():
        app = tiny_app(trained_home, tiny_folder)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("1")
            lr = app.screen.query_one("#lr")
            lr.focus()
            lr.value = ""
            await pilot.press("1", "2")  # a learning rate of 12: above the bound
            await pilot.press("tab", "tab")
            await pilot.pause(0.2)
            assert lr.has_class("-invalid")
            assert "learning rate" in text_of(app.screen.query_one("#form-error"))

    run(scenario())


def test_each_entry_of_the_catalogue_names_the_analysis_its_screen_draws():
    """The screen says what it draws where it is written (ANALYSIS); the catalogue's entry,
    whose title and description come from that declaration, names the same one."""
    for experiment in experiments():
        screen = experiment.screen()
        drawn = getattr(screen, "ANALYSIS", None)
        if experiment.analyses and experiment.options.get("name") is None:
            assert drawn is not None and drawn.name == experiment.analysis, experiment.key
        elif not experiment.analyses:
            assert drawn is None, experiment.key

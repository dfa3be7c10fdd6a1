"""A library keeps the model it was made with: `--model` matters for its first run only; another model is
refused with the way to switch, and a switch embeds every file again before it takes over."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from indexer import IndexSettings, index
from indexer.library import active_model, open_catalog, session
from indexer.model import read_checkpoint, write_model_dir
from indexer.pipeline import run as run_module
from indexer.sources import synthetic
from search import Searcher
from ui.cli import app

SETTINGS = IndexSettings(workers=0, batch_size=4)


@pytest.fixture
def other_model(tmp_path, micro_model):
    """The micro architecture with other weights: another model."""
    from indexer.model import random_state

    config, _ = read_checkpoint(micro_model)
    return write_model_dir(tmp_path / "other", config, random_state(config, seed=42))


def photos(folder, start: int, n: int):
    folder.mkdir(exist_ok=True)
    for i in range(start, start + n):
        synthetic.write(synthetic.sample(i, 9), folder, i)
    return folder


def active_source(library) -> str:
    with session(open_catalog(library)) as s:
        return active_model(s).source


def test_a_rerun_without_model_keeps_the_librarys_model(tmp_path, micro_model):
    folder, library = photos(tmp_path / "p", 0, 4), tmp_path / "lib"
    index([folder], library, str(micro_model), SETTINGS)
    photos(folder, 4, 3)
    summary = index([folder], library, None, SETTINGS)
    assert summary.indexed == 3 and active_source(library) == str(micro_model)
    assert Searcher(library).index.ntotal == 7


def test_the_cli_without_model_keeps_it_too_and_another_model_is_refused(tmp_path, micro_model, other_model):
    folder, library = photos(tmp_path / "p", 0, 3), tmp_path / "lib"
    first = CliRunner().invoke(app, ["index", str(folder), "-l", str(library), "-m", str(micro_model), "--json"])
    assert first.exit_code == 0, first.output
    photos(folder, 3, 1)
    again = CliRunner().invoke(app, ["index", str(folder), "-l", str(library), "--json"])
    assert again.exit_code == 0 and '"indexed": 1' in again.stdout and active_source(library) == str(micro_model)
    other = CliRunner().invoke(app, ["index", str(folder), "-l", str(library), "-m", str(other_model)])
    assert other.exit_code == 2 and "--switch-model" in other.stderr and "mix two models" in other.stderr
    assert active_source(library) == str(micro_model)


def test_a_switch_embeds_every_file_of_every_root_then_takes_over(tmp_path, micro_model, other_model):
    a, b, library = photos(tmp_path / "a", 0, 3), photos(tmp_path / "b", 3, 2), tmp_path / "lib"
    index([a], library, str(micro_model), SETTINGS)
    index([b], library, None, SETTINGS)
    summary = index([a], library, str(other_model), SETTINGS, switch_model=True)
    assert summary.indexed + summary.duplicates == 5  # root b too, though only a was named
    assert active_source(library) == str(other_model) and Searcher(library).index.ntotal == 5
    assert index([a, b], library, None, SETTINGS).indexed == 0  # nothing left to embed


def test_an_interrupted_switch_leaves_the_old_model_serving_and_a_rerun_finishes_it(
    tmp_path, micro_model, other_model, monkeypatch
):
    folder, library = photos(tmp_path / "p", 0, 8), tmp_path / "lib"
    index([folder], library, str(micro_model), SETTINGS)
    real_flush, flushes = run_module.IndexRun.flush, []

    def flush_then_fail(self, root_ids):
        flushes.append(1)
        if len(flushes) == 2:
            raise OSError(28, "No space left on device")
        real_flush(self, root_ids)

    monkeypatch.setattr(run_module.IndexRun, "flush", flush_then_fail)
    with pytest.raises(Exception, match="No space left"):
        index([folder], library, str(other_model), SETTINGS, switch_model=True)
    monkeypatch.undo()
    assert active_source(library) == str(micro_model)
    assert len(Searcher(library).search("a red circle", k=10).hits) == 8  # the old index serves meanwhile
    done = index([folder], library, str(other_model), SETTINGS, switch_model=True)
    assert done.indexed == 4 and active_source(library) == str(other_model)  # the first batch was kept

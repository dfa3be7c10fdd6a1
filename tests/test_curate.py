"""Curation (search.curate, search.export, `pixseek export`): subsets, formats, recipes that regenerate."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import webdataset as wds
from PIL import Image
from typer.testing import CliRunner

from indexer.pipeline.indexing import index
from indexer.pipeline.run import IndexSettings
from indexer.sources import synthetic
from indexer.sources.synthetic import photo, write_copies
from search.curate import BadRecipe, Recipe, RecipeModelMismatch, build_subset
from search.dedup import DedupSettings
from search.export import export
from search.filters import Filters
from search.safe_paths import UnsafePath
from ui.cli.main import app

runner = CliRunner()


@pytest.fixture(scope="module")
def library(tmp_path_factory, micro_model):
    """Three photos with a q30 copy and half- and quarter-size copies each, and 30 distinct shape images (PNG)."""
    root = tmp_path_factory.mktemp("photos")
    for name in ("astronaut", "coffee", "rocket"):
        write_copies(photo(name), root / "photos" / name, name, ("resize",))
        photo(name).convert("RGB").save(root / "photos" / name / f"{name}_q30.jpg", quality=30)
    (root / "shapes").mkdir()
    for i in range(30):
        synthetic.sample(i, 5).image.save(root / "shapes" / f"{i:02d}.png")
    lib = tmp_path_factory.mktemp("lib")
    index([root], lib, str(micro_model), IndexSettings(workers=0))
    return lib, root


def _manifest(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "manifest.jsonl").read_text().splitlines()]


def test_a_recipe_regenerates_the_same_subset(library, tmp_path):
    lib, _ = library
    args = ["export", "--library", str(lib), "-q", "a red circle", "-q", "a blue square", "--dedup"]
    args += ["--diverse", "12", "--seed", "3", "--format", "png", "--as", "symlink"]
    first = runner.invoke(app, [*args, "--to", str(tmp_path / "first")])
    assert first.exit_code == 0 and "exported 12 images" in first.output, first.output
    again = runner.invoke(app, ["export", "--library", str(lib), "--recipe", str(tmp_path / "first" / "recipe.json")])
    assert again.exit_code != 0  # --to is required
    again = runner.invoke(
        app,
        [
            "export",
            "--library",
            str(lib),
            "--recipe",
            str(tmp_path / "first" / "recipe.json"),
            "--to",
            str(tmp_path / "again"),
        ],
    )
    assert again.exit_code == 0, again.output
    assert _manifest(tmp_path / "first") == [
        {**r, "path": r["path"].replace("/again/", "/first/")} for r in _manifest(tmp_path / "again")
    ]
    recipe = json.loads((tmp_path / "first" / "recipe.json").read_text())
    assert recipe["queries"] == ["a red circle", "a blue square"] and recipe["seed"] == 3 and recipe["diverse"] == 12
    assert (
        recipe["model"] == "micro" and len(recipe["weights_sha256"]) == 64 and recipe["filters"]["formats"] == ["png"]
    )


def test_query_subsets_are_scored_best_first_and_obey_the_filters(library):
    subset = build_subset(library[0], Recipe(queries=("a green star",), limit=10, filters=Filters(formats=("JPEG",))))
    assert len(subset.items) == 9 and {i.format for i in subset.items} == {"JPEG"}
    scores = [i.score for i in subset.items]
    assert scores == sorted(scores, reverse=True) and {i.query for i in subset.items} == {"a green star"}


def test_dedup_keeps_one_image_of_each_duplicate_group(library):
    every = build_subset(library[0], Recipe())
    deduped = build_subset(library[0], Recipe(dedup=DedupSettings()))
    assert len(every.items) == 42 and len(deduped.items) == 33
    kept = {Path(i.path).name for i in deduped.items if "/photos/" in i.path}
    assert kept == {"astronaut.png", "coffee.png", "rocket.png"}


@pytest.mark.parametrize("method", ["kmeans", "farthest"])
def test_diversity_sampling_is_reproducible_by_seed(library, method):
    def pick(seed):
        return [i.image_id for i in build_subset(library[0], Recipe(diverse=10, diversity=method, seed=seed)).items]

    assert len(pick(0)) == 10 == len(set(pick(0))) and pick(0) == pick(0)
    assert any(pick(0) != pick(s) for s in (1, 2, 3))


@pytest.mark.parametrize("as_", ["copy", "hardlink", "symlink"])
def test_file_exports_hold_the_original_bytes_and_a_manifest(library, tmp_path, as_):
    subset = build_subset(library[0], Recipe(queries=("a red circle",), limit=5))
    export(subset, tmp_path / "out", as_)
    rows = _manifest(tmp_path / "out")
    assert len(rows) == 5 and all({"path", "source", "score", "width", "format"} <= set(r) for r in rows)
    for row in rows:
        path = Path(row["path"])
        assert path.parent == tmp_path / "out" and path.read_bytes() == Path(row["source"]).read_bytes()
        assert path.is_symlink() == (as_ == "symlink") and os.path.samefile(path, row["source"]) == (as_ != "copy")


def test_manifests_list_path_score_and_metadata(library, tmp_path):
    subset = build_subset(library[0], Recipe(queries=("a red circle",), limit=7))
    for as_ in ("csv", "jsonl", "parquet"):
        export(subset, tmp_path / as_, as_)
    from_csv = list(csv.DictReader(open(tmp_path / "csv" / "manifest.csv")))
    from_parquet = pq.read_table(tmp_path / "parquet" / "manifest.parquet").to_pylist()
    expected = [(i.path, i.score) for i in subset.items]
    assert [(r["path"], float(r["score"])) for r in from_csv] == expected
    assert [(r["path"], r["score"]) for r in _manifest(tmp_path / "jsonl")] == expected
    assert [(r["path"], r["score"]) for r in from_parquet] == expected
    assert from_parquet[0]["width"] == subset.items[0].width


def test_webdataset_shards_read_back_with_the_webdataset_library(library, tmp_path):
    subset = build_subset(library[0], Recipe(filters=Filters(formats=("PNG",))))
    export(subset, tmp_path / "wds", "webdataset")
    samples = list(wds.WebDataset(str(tmp_path / "wds" / "shard-000000.tar"), shardshuffle=False).decode("pil"))
    assert len(samples) == len(subset.items) == 33
    first = samples[0]
    assert isinstance(first["png"], Image.Image) and first["json"]["path"] == subset.items[0].path
    assert first["png"].size == (first["json"]["width"], first["json"]["height"])


def test_a_recipe_from_other_model_weights_is_refused(library, tmp_path):
    recipe = Recipe(queries=("a red circle",), weights_sha256="0" * 64)
    with pytest.raises(RecipeModelMismatch, match="its queries would select a different subset"):
        build_subset(library[0], recipe)
    (tmp_path / "recipe.json").write_text("{not json")
    result = runner.invoke(
        app,
        [
            "export",
            "--library",
            str(library[0]),
            "--recipe",
            str(tmp_path / "recipe.json"),
            "--to",
            str(tmp_path / "x"),
        ],
    )
    assert result.exit_code == 2 and "error: not a pixseek recipe" in result.output
    with pytest.raises(BadRecipe):
        Recipe.from_json('{"queries": ["x"], "colour": "red"}')


def test_an_export_never_writes_through_a_symlinked_target_or_over_a_file(library, tmp_path):
    subset = build_subset(library[0], Recipe(queries=("a red circle",), limit=3))
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(UnsafePath, match="the folder is a symbolic link"):
        export(subset, tmp_path / "link", "copy")
    export(subset, tmp_path / "out", "copy")
    with pytest.raises(UnsafePath, match="recipe.json: refused, something already exists there"):
        export(subset, tmp_path / "out", "csv")
    (tmp_path / "clash").mkdir()
    (tmp_path / "clash" / f"{subset.items[-1].image_id}_{Path(subset.items[-1].path).name}").touch()
    with pytest.raises(UnsafePath, match="something already exists there"):
        export(subset, tmp_path / "clash", "copy")
    assert len(list((tmp_path / "clash").iterdir())) == 1  # nothing written before the refusal
    assert not any((tmp_path / "elsewhere").iterdir())


def test_an_unknown_format_is_one_line_and_status_2(library, tmp_path):
    result = runner.invoke(app, ["export", "--library", str(library[0]), "--as", "zip", "--to", str(tmp_path / "x")])
    assert result.exit_code == 2 and "unknown export format 'zip'" in result.output and "Traceback" not in result.output

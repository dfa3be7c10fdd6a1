"""`pixseek search` as a new user meets it, on a fresh 11-image library and the bundled tiny-shapes model:
bare words, output for pipes and terminals, the relevance cutoff, sorting, and options checked first."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from shape_pictures import shape_picture
from typer.testing import CliRunner

import search.searcher
from indexer.model.hardware import gpu_present
from ui.cli import app

# (file, shape, colour, year taken): two red circles among nine other pictures
PICTURES = [
    ("red-circle-a.jpg", "circle", "red", 2019),
    ("red-circle-b.jpg", "circle", "red", 2021),
    ("blue-square.jpg", "square", "blue", 2018),
    ("green-triangle.jpg", "triangle", "green", 2022),
    ("yellow-square.jpg", "square", "yellow", 2020),
    ("blue-triangle.jpg", "triangle", "blue", 2017),
    ("green-square.jpg", "square", "green", 2023),
    ("purple-triangle.jpg", "triangle", "purple", None),
    ("yellow-triangle.jpg", "triangle", "yellow", 2016),
    ("blue-circle.jpg", "circle", "blue", 2015),
    ("green-circle.jpg", "circle", "green", 2024),
]


def picture(path: Path, shape: str, colour: str, year: int | None, i: int) -> None:
    image = shape_picture(shape, colour, i)
    exif = Image.Exif()
    if year:
        exif.get_ifd(0x8769)[0x9003] = f"{year}:06:15 12:00:00"
    image.save(path, quality=92, exif=exif)


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    photos = tmp_path_factory.mktemp("my photos")  # a space in the path, as users have
    for i, (name, shape, colour, year) in enumerate(PICTURES):
        picture(photos / name, shape, colour, year, i)
    lib = tmp_path_factory.mktemp("lib")
    made = CliRunner().invoke(app, ["index", str(photos), "-l", str(lib), "--json"])
    assert made.exit_code == 0, made.output
    return lib, photos


def run(library, *args):
    return CliRunner().invoke(app, ["search", *args, "-l", str(library[0])])


def test_bare_words_are_one_text_query(library):
    bare, quoted = run(library, "a", "red", "circle", "--json"), run(library, "a red circle", "--json")
    assert bare.exit_code == 0, bare.output
    assert json.loads(bare.stdout) == json.loads(quoted.stdout)


def test_relevant_keeps_the_two_red_circles_of_eleven(library):
    result = run(library, "a red circle", "--relevant", "--paths")
    assert result.exit_code == 0, result.output
    assert sorted(Path(p).name for p in result.stdout.split("\n") if p) == ["red-circle-a.jpg", "red-circle-b.jpg"]


def test_piped_output_is_one_tab_separated_line_per_hit_with_the_whole_path_and_the_id(library):
    result = run(library, "a red circle", "-k", "5")
    lines = result.stdout.strip().split("\n")
    assert result.exit_code == 0 and len(lines) == 5
    rank, image_id, score, path, *_ = lines[0].split("\t")
    assert rank == "1" and Path(path).is_file() and Path(path).parent == library[1]
    again = run(library, f"id:{image_id}", "-k", "1", "--paths")  # the id column is what id:N takes
    assert again.stdout.strip() == path


def test_paths_only_lists_files_for_xargs(library):
    result = run(library, "a blue square", "-k", "4", "-f")
    paths = result.stdout.rstrip("\n").split("\n")
    assert result.exit_code == 0 and len(paths) == 4 and all(Path(p).is_file() for p in paths)


def test_no_hits_print_no_table_and_say_so_on_stderr(library):
    result = run(library, "a red circle", "--min-width", "5000")
    assert result.exit_code == 0 and result.stdout == "" and result.stderr.strip() == "no results"


def test_a_year_is_a_date_and_sort_date_orders_every_relevant_result_either_way(library):
    after = json.loads(run(library, "a circle", "--after", "2020", "-k", "11", "--json").stdout)
    assert after and all(h["taken_at"] >= "2020" for h in after)
    assert {Path(h["path"]).name for h in after} <= {"red-circle-b.jpg", "green-triangle.jpg", "yellow-square.jpg",
                                                     "green-square.jpg", "green-circle.jpg"}  # fmt: skip
    newest = json.loads(run(library, "a red circle", "--sort", "date", "--json").stdout)
    oldest = json.loads(run(library, "a red circle", "--sort", "date", "--reverse", "--json").stdout)
    assert [Path(h["path"]).name for h in newest] == ["red-circle-b.jpg", "red-circle-a.jpg"]
    assert oldest == newest[::-1]


def test_options_are_checked_before_the_model_loads(library, monkeypatch):
    def no_model(*args, **kwargs):
        raise AssertionError("the model was loaded before the options were checked")

    monkeypatch.setattr(search.searcher, "load_model", no_model)
    for option, value, said in [
        ("--sort", "name", "'name' is not one of score, date, path, size"),
        ("--device", "gpu", "'gpu' is not a device"),
        ("--runtime", "tensorflow", "'tensorflow' is not one of auto, numpy, paddle, torch"),
        ("--dtype", "int8", "'int8' is not one of auto, float32, bfloat16, float16"),
    ]:
        result = run(library, "red", option, value)
        assert result.exit_code == 2 and len(result.stderr.strip().split("\n")) == 1, result.stderr
        assert result.stderr.startswith(f"error: Invalid value for '{option}': {said}")


@pytest.mark.skipif(gpu_present(), reason="this machine has a GPU")
def test_cuda_on_a_machine_without_a_gpu_says_so(library):
    result = run(library, "red", "--device", "cuda")
    assert result.exit_code == 2
    said = "error: device 'cuda' asked for, but this machine has no NVIDIA GPU (no driver lists one)"
    assert result.stderr.strip() == said


def test_version_and_short_help():
    version = CliRunner().invoke(app, ["--version"])
    assert version.exit_code == 0 and version.stdout.startswith("pixseek ")
    short = CliRunner().invoke(app, ["search", "-h"])
    assert short.exit_code == 0 and "--paths" in short.stdout

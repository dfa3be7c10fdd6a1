"""`Searcher` and `pixseek search` on a real library (a small random model: behaviour, not quality)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from indexer.pipeline.indexing import index
from indexer.pipeline.run import IndexSettings
from indexer.sources import synthetic
from search.filters import Filters
from search.query import QueryError
from search.searcher import Searcher
from ui.cli.main import app

CAMERAS = [("Google", "Pixel 7"), ("Canon", "EOS R5"), ("Apple", "iPhone 13")]


def _save(sample, path: Path, i: int) -> None:
    exif = Image.Exif()
    make, model = CAMERAS[i % 3]
    exif[0x010F], exif[0x0110] = make, model
    exif.get_ifd(0x8769)[0x9003] = f"20{10 + i % 12:02d}:0{1 + i % 9}:1{i % 10} 12:00:00"
    image = sample.image.resize((sample.image.width * (1 + i % 3), sample.image.height * (1 + i % 3)))
    image.save(path, "JPEG" if i % 2 else "PNG", quality=90, exif=exif)


@pytest.fixture(scope="module")
def library(tmp_path_factory, micro_model):
    root = tmp_path_factory.mktemp("photos")
    for i in range(120):
        folder = root / ("trips" if i % 4 == 0 else "home")
        folder.mkdir(exist_ok=True)
        _save(synthetic.sample(i, 17), folder / f"{i:03d}.{'jpg' if i % 2 else 'png'}", i)
    lib = tmp_path_factory.mktemp("lib")
    index([root], lib, str(micro_model), IndexSettings(workers=0, batch_size=32))
    return lib, root


def test_text_search_returns_k_hits_with_path_and_descending_scores(library):
    hits = Searcher(library[0]).search("a red circle", k=7).hits
    assert len(hits) == 7 and all(Path(h.path).is_file() for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_an_indexed_image_id_and_its_file_find_that_image_first(library):
    searcher = Searcher(library[0])
    first = searcher.search("a blue star", k=1).hits[0]
    by_id = searcher.search(f"id:{first.image_id}", k=1).hits[0]
    by_file = searcher.search([], k=1, images=[first.path]).hits[0]
    assert by_id.image_id == by_file.image_id == first.image_id
    assert by_id.score == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize(
    ("filters", "check"),
    [
        (Filters(camera="pixel"), lambda h: h.camera == "Google Pixel 7"),
        (Filters(formats=("png",)), lambda h: h.format == "PNG"),
        (Filters(min_width=200), lambda h: h.width >= 200),
        (
            Filters(after=datetime(2015, 1, 1), before=datetime(2018, 1, 1)),
            lambda h: datetime(2015, 1, 1) <= h.taken_at < datetime(2018, 1, 1),
        ),
        (Filters(under="trips"), lambda h: "/trips/" in h.path),
    ],
)
def test_every_hit_satisfies_the_filter_and_k_come_back_when_k_match(library, filters, check):
    lib, root = library
    if filters.under:
        filters = Filters(under=str(root / filters.under))
    hits = Searcher(lib).search("a green square", k=10, filters=filters).hits
    assert len(hits) == 10 and all(check(h) for h in hits)


def test_a_selective_filter_still_returns_every_match(library):
    lib, _ = library
    hits = (
        Searcher(lib).search("a circle", k=50, filters=Filters(camera="canon", formats=("jpeg",), min_width=200)).hits
    )
    assert 0 < len(hits) < 50 and all(h.camera == "Canon EOS R5" and h.width >= 200 for h in hits)


def test_paging_continues_where_the_first_page_ended(library):
    searcher = Searcher(library[0])
    both = searcher.search("a yellow triangle", k=10).hits
    second = searcher.search("a yellow triangle", k=5, offset=5).hits
    assert [h.image_id for h in second] == [h.image_id for h in both[5:]]


def test_relevant_results_sorted_by_date_newest_first(library):
    result = Searcher(library[0]).search("a purple star", k=100, relevant=True, strictness=0.0, sort="date")
    dates = [h.taken_at for h in result.hits]
    assert result.total == len(result.hits) and dates == sorted(dates, reverse=True)


def test_a_query_longer_than_the_context_is_cut_with_a_warning(library):
    result = Searcher(library[0]).search("red " * 100, k=1)
    assert "longer than the model's 77 tokens" in result.warnings[0]


def test_terms_that_cancel_out_are_an_error(library):
    with pytest.raises(QueryError, match="cancel out"):
        Searcher(library[0]).search(["a red circle", "-", "a red circle"])


def test_the_searcher_sees_images_indexed_after_it_was_opened(library, tmp_path, micro_model):
    lib, root = library
    copy = tmp_path / "lib"
    import shutil

    shutil.copytree(lib, copy)
    searcher = Searcher(copy)
    before = searcher.search("a red circle", k=1000).hits
    extra = tmp_path / "more"
    extra.mkdir()
    synthetic.sample(0, 999).image.save(extra / "new.png")
    index([extra], copy, str(micro_model), IndexSettings(workers=0))
    after = searcher.search("a red circle", k=1000).hits
    assert len(after) == len(before) + 1 and any(h.path.endswith("new.png") for h in after)


def test_cli_search_json_is_an_array_of_hits_with_path_and_score(library):
    result = CliRunner().invoke(
        app, ["search", "a red circle", "-", "a blue background", "-k", "3", "--json", "-l", str(library[0])]
    )
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert len(hits) == 3 and {"path", "score", "image_id", "width", "taken_at"} <= set(hits[0])
    assert np.all(np.diff([h["score"] for h in hits]) <= 0)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "error: bad query: the query is empty; give text, --image PATH or id:N"),
        (["red", "-", "+", "blue"], "error: bad query term '+': two operators in a row"),
        (["id:999999"], "error: bad query term 'id:999999': no indexed image has this id"),
    ],
)
def test_cli_search_errors_are_one_line(library, args, message):
    result = CliRunner().invoke(app, ["search", *args, "-l", str(library[0])])
    assert result.exit_code == 2 and result.stderr.strip() == message


def test_cli_search_on_a_folder_that_is_no_library(tmp_path):
    result = CliRunner().invoke(app, ["search", "red", "-l", str(tmp_path)])
    assert result.exit_code == 2 and "no pixseek library here yet" in result.stderr

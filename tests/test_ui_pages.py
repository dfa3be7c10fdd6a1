"""Every page of the Streamlit app (streamlit.testing AppTest) on the demo library."""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from ui_demo import is_red_circle, page

from indexer.library.catalog import open_catalog
from search import Searcher
from ui import demo, indexjob
from ui.terms import IdTerm

APP = Path(__file__).parents[1] / "ui" / "app.py"


def results(at: AppTest) -> list[str]:
    """File names of the result grid, in rank order (captions read "#1 · 0.745 · name ...")."""
    return [c.value.split(" · ")[2].split()[0] for c in at.caption if c.value.startswith("#")]


def first_score(at: AppTest) -> str:
    return next(c.value for c in at.caption if c.value.startswith("#1 ")).split(" · ")[1]


def path_of(demo_library, name: str) -> Path:
    return next(demo_library.photos.rglob(name))


def search(at: AppTest, text: str) -> AppTest:
    return at.text_input(key="search_text").input(text).run()


def test_app_routes_to_the_search_page(on_demo):
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    assert not at.exception
    assert at.title[0].value == "Search"


def test_text_search_shows_red_circles_first_with_thumbnails(on_demo):
    at = search(page("search"), "a red circle")
    names = results(at)
    assert not at.exception and len(names) == 20 and len(at.image) == 20
    assert all(is_red_circle(on_demo.truth(path_of(on_demo, n))) for n in names[:3])


def test_thumbnails_are_small_cached_files_in_the_library(on_demo):
    search(page("search"), "a blue square")
    thumbs = list((on_demo.library / "thumbs").rglob("*.jpg"))
    assert len(thumbs) >= 20
    from PIL import Image

    assert all(max(Image.open(t).size) <= 256 for t in thumbs)


def test_an_uploaded_image_finds_itself_first(on_demo):
    at = page("search")
    data = (on_demo.photos / "photos" / "chelsea.png").read_bytes()
    at.file_uploader(key="search_upload_0").upload("cat.png", data, "image/png").run()
    assert not at.exception and not at.error
    assert results(at)[0] == "chelsea.png"


def test_a_pasted_path_finds_itself_first(on_demo):
    at = page("search")
    target = path_of(on_demo, "00042.jpg")
    at.text_input(key="search_path").input(str(target)).run()
    assert results(at)[0] == "00042.jpg"


def _bomb_png(width: int, height: int) -> bytes:
    """A PNG whose header declares width x height pixels (with almost no data)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("name", "data", "says"),
    [
        ("notes.png", b"this is not an image", "not a recognised image"),
        ("bomb.png", _bomb_png(60000, 60000), "over the limit"),
        ("huge.jpg", b"\xff" * (21 * 2**20), "upload limit"),
    ],
)
def test_a_bad_upload_gives_a_message_not_a_traceback(on_demo, name, data, says):
    at = page("search")
    at.file_uploader(key="search_upload_0").upload(name, data, "image/png").run()
    assert not at.exception
    assert says in at.error[0].value and name in at.error[0].value


def test_a_path_outside_the_library_is_refused(on_demo):
    at = page("search")
    at.text_input(key="search_path").input("/etc/passwd").run()
    assert not at.exception and "not inside this library" in at.error[0].value


def test_thumbs_down_adds_a_removable_negative_term(on_demo):
    at = search(page("search"), "a red circle")
    first = results(at)[0]
    next(b for b in at.button if b.key.endswith("_down")).click().run()
    assert first not in results(at)[:1]
    term = next(b for b in at.button if b.key.startswith("search_term_"))
    assert term.label.startswith("−") and first in term.label
    term.click().run()
    assert not any(b.key.startswith("search_term_") for b in at.button)
    assert results(at)[0] == first


def test_thumbs_up_adds_a_positive_term(on_demo):
    at = search(page("search"), "a red circle")
    chosen = results(at)[4]
    [b for b in at.button if b.key.endswith("_up")][4].click().run()
    term = next(b for b in at.button if b.key.startswith("search_term_"))
    assert term.label.startswith("similar to id:") and chosen in term.label


def test_more_like_this_queries_by_the_image_id(on_demo):
    at = search(page("search"), "two yellow stars")
    chosen = results(at)[3]
    [b for b in at.button if b.key.endswith("_like")][3].click().run()
    assert at.text_input(key="search_text").value == ""
    assert results(at)[0] == chosen and first_score(at) == "1.000"


def test_open_shows_the_path_and_metadata_until_the_next_query(on_demo):
    at = search(page("search"), "a green triangle")
    first = results(at)[0]
    next(b for b in at.button if b.key.endswith("_open")).click().run()
    assert not at.exception
    assert at.code[0].value.endswith(first) and Path(at.code[0].value).is_file()
    at.text_input(key="search_text").input("a red circle").run()
    assert not at.code


def test_folder_filter_keeps_only_that_folder(on_demo):
    at = page("search")
    garden = str(on_demo.photos / "shapes" / "garden")
    at.selectbox(key="search_folder").select(garden).run()
    names = results(search(at, "a red circle"))
    inside = {p.name for p in (on_demo.photos / "shapes" / "garden").iterdir()}
    assert names and set(names) <= inside


def test_format_and_size_filters_apply(on_demo):
    at = page("search")
    at.multiselect(key="search_formats").select("PNG").run()
    at.number_input(key="search_minw").set_value(300).run()
    names = results(search(at, "a blue square"))
    sizes = [c.value.split(" · ")[-1] for c in at.caption if c.value.startswith("#")]
    assert names and all(n.endswith(".png") for n in names)
    assert all(int(s.split(" × ")[0]) >= 300 for s in sizes)


def test_relevant_only_counts_results_and_pages(on_demo):
    at = page("search")
    at.toggle(key="search_relevant").set_value(True).run()
    at = search(at, "a red circle")
    assert "relevant results" in at.caption[0].value
    total = int(at.caption[0].value.split()[0])
    assert 0 < total < 300 and len(results(at)) == min(total, 20)


def test_next_page_continues_the_ranking(on_demo):
    at = search(page("search"), "a purple star")
    first_page = results(at)
    at.button(key="search_next").click().run()
    second = at.caption
    ranks = [int(c.value.split(" · ")[0][1:]) for c in second if c.value.startswith("#")]
    assert ranks[0] == 21 and not set(results(at)) & set(first_page)


@pytest.mark.parametrize("name", ["search", "library", "map"])
def test_every_page_explains_a_missing_library(tmp_path, monkeypatch, name):
    monkeypatch.setenv("PIXSEEK_LIBRARY", str(tmp_path / "nothing"))
    at = page(name)
    assert not at.exception
    assert "pixseek demo" in at.error[0].value and "pixseek index FOLDER" in at.error[0].value


def test_an_empty_library_says_to_index_a_folder(tmp_path, monkeypatch):
    open_catalog(tmp_path)
    monkeypatch.setenv("PIXSEEK_LIBRARY", str(tmp_path))
    at = page("search")
    assert not at.exception and f"pixseek index FOLDER -l {tmp_path}" in at.error[0].value


def test_library_page_shows_counts_model_and_index(on_demo):
    at = page("library")
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    files = len(demo.truth(on_demo.photos))
    assert metrics["files"] == str(files) and metrics["unreadable"] == "0"
    assert metrics["photos"] == str(files - len(demo.EXACT_COPIES))
    assert any("tiny-shapes" in m.value for m in at.markdown)


def test_library_page_starts_an_index_run_in_the_background(on_demo, tmp_path):
    at = page("library")
    at.button(key="library_index").click().run()
    assert not at.exception
    job = _wait_for_job(on_demo.library)
    assert job["state"] == "done" and job["summary"]["unchanged"] == len(demo.truth(on_demo.photos))


def _wait_for_job(library: Path) -> dict:
    import time

    for _ in range(600):  # the run imports Paddle and scans 345 files: a few seconds
        job = indexjob.read_job(library)
        if not indexjob.busy(job):
            return job
        time.sleep(0.2)
    raise AssertionError(f"the index run did not finish: {job}")


def test_map_page_plots_every_image_with_hover_thumbnails(on_demo):
    at = page("map")
    assert not at.exception
    distinct = len(demo.truth(on_demo.photos)) - len(demo.EXACT_COPIES)  # byte copies are one image
    assert at.caption[0].value.startswith(f"{distinct} images")


def test_brushed_region_selects_the_points_inside():
    import pandas as pd

    from ui.mapview import brushed

    rows = pd.DataFrame({"id": [1, 2, 3], "x": [0.0, 1.0, 2.0], "y": [0.0, 1.0, 0.5]})
    assert list(brushed(rows, {"x": [0.5, 2.5], "y": [0.4, 0.9]})["id"]) == [3]
    assert list(brushed(rows, {})["id"]) == [1, 2, 3]


def test_terms_handed_over_by_the_map_are_the_query(on_demo):
    at = search(page("search"), "a blue square")
    first = results(at)[0]
    image_id = int(next(b.key for b in at.button if b.key.endswith("_like")).split("_")[1])  # the first hit's id
    at = page("search")
    at.session_state["search_terms"] = [IdTerm(image_id, 1.0, "from the map")]  # what Map's "Search with these" sets
    at.run()
    assert results(at)[0] == first and first_score(at) == "1.000"
    assert any(b.label == f"similar to id:{image_id} (from the map) ✕" for b in at.button)


def query_parts(at: AppTest) -> list[str]:
    """The labels of the query bar's parts (each button takes its part out of the query)."""
    return [b.label.removesuffix(" ✕") for b in at.button if b.key.startswith(("search_drop_", "search_term_"))]


def test_the_search_box_takes_the_cli_query_language(on_demo):
    at = search(page("search"), 'a red circle + "0.5:a blue square" - "two yellow stars"')
    assert not at.exception and not at.error
    assert query_parts(at) == ['"a red circle"', '0.5 × "a blue square"', '− "two yellow stars"']
    cli = Searcher(on_demo.library).search(["a red circle", "+", "0.5:a blue square", "-", "two yellow stars"])
    assert results(at) == [Path(h.path).name for h in cli.hits]


def test_apple_minus_fruit_is_apple_without_fruit(on_demo):
    at = search(page("search"), "apple - fruit")
    assert query_parts(at) == ['"apple"', '− "fruit"']


def test_a_bad_query_is_one_line_of_error_not_a_traceback(on_demo):
    at = search(page("search"), "a red circle +")
    assert not at.exception and "ends with an operator" in at.error[0].value
    assert "\n" not in at.error[0].value and not results(at)


def test_removing_one_text_term_keeps_the_others(on_demo):
    at = search(page("search"), "a red circle - a blue square")
    next(b for b in at.button if b.label == '− "a blue square" ✕').click().run()
    assert at.text_input(key="search_text").value == "a red circle"
    assert query_parts(at) == ['"a red circle"']


def test_an_uploaded_image_is_a_visible_part_that_can_be_taken_out(on_demo):
    at = page("search")
    data = (on_demo.photos / "photos" / "chelsea.png").read_bytes()
    at.file_uploader(key="search_upload_0").upload("cat.png", data, "image/png").run()
    at = search(at, "a red circle")
    assert query_parts(at) == ["image cat.png", '"a red circle"']
    at.button(key="search_drop_upload").click().run()
    assert query_parts(at) == ['"a red circle"'] and is_red_circle(on_demo.truth(path_of(on_demo, results(at)[0])))


def test_clear_all_empties_the_query(on_demo):
    at = search(page("search"), "a red circle")
    [b for b in at.button if b.key.endswith("_down")][0].click().run()
    at.text_input(key="search_path").input(str(path_of(on_demo, "00042.jpg"))).run()
    assert len(query_parts(at)) == 3
    at.button(key="search_clear").click().run()
    assert not query_parts(at) and at.text_input(key="search_text").value == ""
    assert "Type what you are looking for" in at.info[0].value


def test_the_opened_image_shows_its_metadata_in_words(on_demo):
    at = search(page("search"), "a green triangle")
    next(b for b in at.button if b.key.endswith("_open")).click().run()
    details = next(m.value for m in at.markdown if "**File size**" in m.value)
    assert re.search(r"\*\*File size\*\* \d+(\.\d)? (B|kB|MB)\b", details)
    assert re.search(r"\*\*Pixels\*\* \d+ × \d+ px", details) and "None" not in details
    assert re.search(r"\*\*Taken\*\* \d{4}-\d\d-\d\d \d\d:\d\d", details)


def test_human_sizes_are_decimal_units():
    from ui.metadata import human_size

    assert [human_size(n) for n in (512, 1726, 2_500_000)] == ["512 B", "1.7 kB", "2.5 MB"]


def test_keywords_alone_find_files_by_folder_name_and_clear_all_empties_them(on_demo):
    studio = {p.name for p in (on_demo.photos / "shapes" / "studio").iterdir()}
    at = page("search").text_input(key="search_keywords").input("studio").run()
    assert not at.exception and not at.error
    found = results(at)
    assert found and set(found) <= studio
    at = search(at, "a red circle")  # a description with them: one fused list, studio files first
    assert not at.exception and results(at)[0] in studio
    at.button(key="search_clear").click().run()
    assert at.session_state["search_keywords"] == "" and at.session_state["search_text"] == ""

"""The Map page's hand-over to Search and the Library page's words (AppTest), on libraries with copies."""

from __future__ import annotations

import shutil

import pytest
from streamlit.testing.v1 import AppTest
from test_ui_pages import results, search
from ui_demo import page

from indexer.library import File, Image, open_catalog, session
from indexer.pipeline import index
from search import DedupSettings, find_groups
from ui import demo, mapview
from ui.selection_term import SelectionTerm


def _distinct_of_everything(library) -> tuple[list[int], list]:
    groups = find_groups(library, DedupSettings())
    with session(open_catalog(library)) as s:
        ids = sorted({i for (i,) in s.query(File.image_id).filter(File.status == "ok")})
    return mapview.distinct(ids, mapview.copies_of(groups), limit=10_000), groups


def test_search_with_these_takes_one_image_per_duplicate_group(on_demo):
    chosen, groups = _distinct_of_everything(on_demo.library)
    assert len(chosen) == len(set(chosen))
    for group in groups:
        if group.tier != "burst":
            assert len({m.image_id for m in group.members} & set(chosen)) == 1, group.why
    copies = sum(len({m.image_id for m in g.members}) - 1 for g in groups if g.tier != "burst")
    distinct = len(demo.truth(on_demo.photos)) - len(demo.EXACT_COPIES)
    assert len(chosen) == distinct - copies


def test_a_large_selection_is_spread_over_it_not_its_first_ids():
    chosen = mapview.distinct(list(range(1000)), {}, limit=10)
    assert len(chosen) == 10 and chosen[0] == 0 and chosen[-1] == 999


def test_the_selection_is_one_entry_on_the_search_page_and_clears_at_once(on_demo):
    at = search(page("search"), "a blue square")
    ids = [int(b.key.split("_")[1]) for b in at.button if b.key.endswith("_like")][:5]
    at = page("search")
    at.session_state["search_terms"] = [SelectionTerm(tuple(ids), 1.0)]  # what Map's "Search with these" sets
    at.run()
    assert not at.exception
    entries = [b for b in at.button if b.key.startswith("search_term_")]
    assert [b.label for b in entries] == ["similar to 5 images from the map ✕"]
    assert len(results(at)) == 20
    entries[0].click().run()
    assert not any(b.key.startswith("search_term_") for b in at.button)
    assert at.session_state["search_terms"] == []


def test_a_selection_term_is_the_mean_of_its_images():
    term = SelectionTerm((3, 7), 1.0)
    assert term.token == "0.5:id:3 + 0.5:id:7" and term.image_id == -3
    assert SelectionTerm((3, 7), -1.0).token == "0.5:id:3 - 0.5:id:7"


@pytest.fixture
def messy(demo_library, tmp_path, monkeypatch):
    """A library of 6 pictures: one with an exact copy, two unreadable files, and one file deleted after indexing."""
    folder = tmp_path / "photos"
    folder.mkdir()
    shapes = sorted((demo_library.photos / "shapes" / "garden").glob("*.jpg"))[:6]
    for source in shapes:
        shutil.copyfile(source, folder / source.name)
    shutil.copyfile(shapes[0], folder / "copy-of-first.jpg")
    (folder / "notes.jpg").write_bytes(b"this is not a picture")
    (folder / "cut.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    library = tmp_path / "library"
    index([folder], library, "tiny-shapes")
    (folder / shapes[5].name).unlink()  # gone: its image stays in the catalog, no longer searchable
    index([folder], library, "tiny-shapes")
    monkeypatch.setenv("PIXSEEK_LIBRARY", str(library))
    return library


def _texts(at: AppTest) -> list[str]:
    shown = [e.value for kind in ("markdown", "caption", "text", "subheader", "title") for e in getattr(at, kind)]
    shown += [f"{m.label} {m.value}" for m in at.metric]
    return shown + [frame.value.to_string() for frame in at.dataframe]


def test_library_counts_agree_with_the_catalog(messy):
    at = page("library")
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    with session(open_catalog(messy)) as s:
        ok = [i for (i,) in s.query(File.image_id).filter(File.status == "ok")]
        held = s.query(Image).count()
    assert metrics["photos"] == str(len(set(ok))) == "5" and held == 6  # the deleted file's image is still held
    assert metrics["files"] == str(len(ok)) == "6" and metrics["unreadable"] == "2" and metrics["missing"] == "1"
    assert "5 photos to search in 6 files, 1 file repeating another's bytes." in _texts(at)


def test_library_lists_failures_with_reasons(messy):
    at = page("library")
    failures = next(f.value for f in at.dataframe if "reason" in f.value.columns)
    assert sorted(failures["path"].map(lambda p: p.rsplit("/", 1)[-1])) == ["cut.png", "notes.jpg"]
    assert all(failures["reason"].str.len() > 5)


def test_library_page_shows_words_not_dicts_and_folds_the_internals(messy):
    at = page("library")
    shown = _texts(at)
    assert not [t for t in shown if "{" in t or "'indexed':" in t]
    assert any(t.startswith("Last run ") and "removed" in t and "unreadable" in t for t in shown)
    assert any("**tiny-shapes**: bundled tiny CLIP" in t for t in shown)
    outside = [t for t in shown if "nlist" in t or "nbits" in t]
    inside = [f.value.to_string() for f in at.expander[0].dataframe]
    assert at.expander[0].label == "Index internals" and "nlist" in inside[0] and "vectors" in inside[0]
    assert outside == inside

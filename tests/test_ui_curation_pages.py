"""The Duplicates and Curate pages (streamlit.testing AppTest): planted groups, actions with undo, subsets."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from ui_demo import build_demo, is_red_circle, page

from ui import demo


@pytest.fixture
def own_demo(tmp_path, monkeypatch):
    """A demo library of this test's own: actions change files."""
    built = build_demo(tmp_path / "library")
    monkeypatch.setenv("PIXSEEK_LIBRARY", str(built.library))
    return built


def planted(photos: Path) -> list[set[str]]:
    """File names of each planted group: an original and its copies."""
    groups: dict[str, set[str]] = {}
    for relpath, truth in demo.truth(photos).items():
        if "original" in truth:
            groups.setdefault(truth["original"], {Path(truth["original"]).name}).add(Path(relpath).name)
    return list(groups.values())


def listed(at: AppTest) -> list[set[str]]:
    """File names of each group on the page (the options of its keeper choice)."""
    return [set(r.options) for r in at.radio if r.key.startswith("dups_keep_")]


def test_duplicates_page_lists_every_planted_group(on_demo):
    at = page("duplicates")
    assert not at.exception
    shown = listed(at)
    for group in planted(on_demo.photos):
        assert group in shown, f"planted group {sorted(group)} is not listed"


def test_every_group_says_its_tier_distance_and_why(on_demo):
    at = page("duplicates")
    heads = [m.value for m in at.markdown if m.value.startswith("**group ")]
    assert len(heads) == len(listed(at))
    assert all(" · distance " in h and "keep " in h for h in heads)


def test_quarantine_of_a_selected_group_with_another_keeper_then_undo(own_demo):
    at = page("duplicates")
    radio = next(r for r in at.radio if "00005.jpg" in r.options)
    group_id = radio.key.removeprefix("dups_keep_")
    small = next(o for o in radio.options if o.endswith("-small.png"))
    radio.set_value(radio.options.index(small)).run()
    at.checkbox(key=f"dups_sel_{group_id}").check().run()
    at.button(key="dups_apply").click().run()
    assert "will be moved to quarantine" in at.warning[0].value
    assert (own_demo.photos / "shapes/holidays-2019/00005.jpg").is_file()  # nothing happens before confirming
    at.button(key="dups_confirmed").click().run()
    assert not at.exception and at.success[0].value.startswith("quarantine: 2 files")
    assert (own_demo.photos / "copies" / small).is_file()
    assert not (own_demo.photos / "shapes/holidays-2019/00005.jpg").exists()
    assert not any("00005.jpg" in g for g in listed(at))  # the kept copy has no duplicate left
    at.button(key="dups_undo").click().run()
    assert at.success[0].value.startswith("undo: 2 files")
    assert (own_demo.photos / "shapes/holidays-2019/00005.jpg").is_file()


def test_delete_needs_an_explicit_confirmation(own_demo):
    at = page("duplicates")
    at.checkbox(key="dups_all").check().run()
    at.selectbox(key="dups_action").select("delete").run()
    at.button(key="dups_apply").click().run()
    assert "deleted for good" in at.warning[0].value
    assert at.button(key="dups_confirmed").disabled
    assert len(demo.truth(own_demo.photos)) == sum(
        1 for p in own_demo.photos.rglob("*") if p.suffix != ".json" and p.is_file()
    )


def test_curate_page_counts_samples_and_exports_a_subset(on_demo, tmp_path):
    at = page("curate")
    assert at.metric[0].value == str(len(demo.truth(on_demo.photos)) - len(demo.EXACT_COPIES))
    at.text_area(key="curate_queries").input("a red circle").run()
    at.toggle(key="curate_relevant").set_value(True).run()
    count = int(at.metric[0].value)
    names = [c.value.split(" · ")[1] for c in at.caption if " · " in c.value]
    assert 0 < count < 100 and names
    assert all(is_red_circle(on_demo.truth(next(on_demo.photos.rglob(n)))) for n in names[:5])
    at.selectbox(key="curate_as").select("csv").run()
    at.text_input(key="curate_to").input(str(tmp_path / "out")).run()
    at.button(key="curate_export").click().run()
    assert not at.exception and at.success[0].value.startswith(f"exported {count} images")
    rows = list(csv.DictReader((tmp_path / "out").glob("*.csv").__next__().open()))
    recipe = json.loads((tmp_path / "out" / "recipe.json").read_text())
    assert len(rows) == count and recipe["queries"] == ["a red circle"] and recipe["weights_sha256"]


def test_curate_export_into_a_used_folder_is_refused_with_a_message(on_demo, tmp_path):
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "recipe.json").write_text("{}")
    at = page("curate")
    at.selectbox(key="curate_as").select("jsonl").run()
    at.text_input(key="curate_to").input(str(tmp_path / "used")).run()
    at.button(key="curate_export").click().run()
    assert not at.exception and at.error


def test_select_every_group_ticks_each_group_and_a_hardlink_is_called_one(on_demo):
    at = page("duplicates")
    at.checkbox(key="dups_all").check().run()
    boxes = [c for c in at.checkbox if c.key.startswith("dups_sel_")]
    assert boxes and all(c.value for c in boxes)
    at.selectbox(key="dups_action").select("hardlink").run()
    at.button(key="dups_apply").click().run()
    warning = at.warning[0].value
    assert "replaced by hard links to their group's keeper" in warning and "will be moved to quarantine" not in warning
    assert warning.startswith(f"{sum(len(planted_group) - 1 for planted_group in planted(on_demo.photos))} files")


def test_the_demo_groups_join_no_different_pictures_and_find_every_planted_copy(on_demo):
    from search import find_groups

    truth = demo.truth(on_demo.photos)
    groups = find_groups(on_demo.library)
    originals = [
        {
            truth[str(Path(m.path).relative_to(on_demo.photos))].get("original")
            or str(Path(m.path).relative_to(on_demo.photos))
            for m in g.members
        }
        for g in groups
    ]
    assert all(len(o) == 1 for o in originals), [o for o in originals if len(o) > 1]
    assert sorted(map(set, ({Path(m.path).name for m in g.members} for g in groups)), key=sorted) == sorted(
        planted(on_demo.photos), key=sorted
    )


def test_not_duplicates_hides_a_group_until_undone(own_demo):
    at = page("duplicates")
    before = listed(at)
    radio = next(r for r in at.radio if "00005.jpg" in r.options)
    at.button(key=f"dups_dismiss_{radio.key.removeprefix('dups_keep_')}").click().run()
    assert not at.exception and "marked not duplicates" in at.success[0].value
    assert not any("00005.jpg" in g for g in listed(at))
    at.button(key="dups_undismiss").click().run()
    assert sorted(map(sorted, listed(at))) == sorted(map(sorted, before))

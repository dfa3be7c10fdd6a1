"""WebDataset tar shards as `pixseek index` input: members indexed as `<tar>::<member>`, read wherever paths are."""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from indexer.library.catalog import open_catalog, session
from indexer.library.tables import File
from indexer.pipeline.indexing import index
from indexer.pipeline.run import IndexSettings
from indexer.sources import synthetic
from indexer.sources.tars import InsideShard
from search.actions import apply
from search.dedup import find_groups
from search.filters import Filters
from search.searcher import Searcher
from ui.cli.main import app
from ui.thumbs import inside_roots, thumbnail

SEED = 31


def jpeg(i: int) -> bytes:
    out = io.BytesIO()
    synthetic.sample(i, SEED).image.save(out, "JPEG", quality=90)
    return out.getvalue()


def add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime = len(data), 0
    tar.addfile(info, io.BytesIO(data))


def write_shard(path: Path, keys: range, images: dict[int, bytes] | None = None) -> Path:
    """A shard as img2dataset writes one: per sample <key>.jpg, <key>.txt (caption), <key>.json."""
    with tarfile.open(path, "w") as tar:
        for i in keys:
            key = f"{i:06d}"
            add(tar, f"{key}.jpg", (images or {}).get(i) or jpeg(i))
            add(tar, f"{key}.txt", synthetic.sample(i, SEED).caption.encode())
            add(tar, f"{key}.json", json.dumps({"key": key, "url": f"https://example.org/{key}.jpg"}).encode())
    return path


def rows(library: Path) -> dict[str, File]:
    with session(open_catalog(library)) as s:
        return {f.relpath: f for f in s.scalars(select(File))}


def settings() -> IndexSettings:
    return IndexSettings(workers=0, batch_size=16)


def test_each_image_member_is_a_catalog_file_with_its_caption_and_json(tmp_path, micro_model):
    shard = write_shard(tmp_path / "shard-00000.tar", range(6))
    summary = index([shard], tmp_path / "lib", str(micro_model), settings())
    assert summary.indexed == 6 and summary.failed == 0
    files = rows(tmp_path / "lib")
    assert set(files) == {f"shard-00000.tar::{i:06d}.jpg" for i in range(6)}  # .txt and .json are not files
    row = files["shard-00000.tar::000002.jpg"]
    assert row.caption == synthetic.sample(2, SEED).caption
    assert row.sample_meta == {"key": "000002", "url": "https://example.org/000002.jpg"}


def test_text_search_finds_the_member_that_shows_what_it_asks_for(tmp_path):
    shard = write_shard(tmp_path / "shard-00000.tar", range(40))
    index([shard], tmp_path / "lib", "tiny-shapes", settings())
    samples = [synthetic.sample(i, SEED) for i in range(40)]
    colour, kind = next((s.colour, s.kind) for s in samples[7].shapes)
    hit = Searcher(tmp_path / "lib").search(f"a {colour} {kind}", k=1).hits[0]
    tar, member = hit.path.split("::")
    assert tar == str(shard) and synthetic.matches(samples[int(Path(member).stem)], colour=colour, kind=kind)
    assert hit.caption == samples[int(Path(member).stem)].caption


def test_a_member_path_works_as_an_image_query_and_as_a_thumbnail(tmp_path, micro_model):
    shard = write_shard(tmp_path / "data.tar", range(5))
    index([shard], tmp_path / "lib", str(micro_model), settings())
    path = f"{shard}::000003.jpg"
    hit = Searcher(tmp_path / "lib").search([], k=1, images=[path]).hits[0]
    assert hit.path == path and hit.score == pytest.approx(1.0, abs=1e-4)
    thumb = thumbnail(tmp_path / "lib", inside_roots(path, (str(tmp_path),)))
    assert thumb.is_file() and thumb.read_bytes()[:2] == b"\xff\xd8"


def test_a_folder_of_shards_and_a_brace_pattern_index_the_same_members(tmp_path, micro_model):
    (tmp_path / "shards").mkdir()
    for n in range(3):
        write_shard(tmp_path / "shards" / f"shard-{n:05d}.tar", range(3 * n, 3 * n + 3))
    by_folder = index([tmp_path / "shards"], tmp_path / "a", str(micro_model), settings())
    by_pattern = index([str(tmp_path / "shards" / "shard-{00000..00002}.tar")], tmp_path / "b", str(micro_model))
    assert by_folder.indexed == by_pattern.indexed == 9
    assert set(rows(tmp_path / "a")) == set(rows(tmp_path / "b"))
    one = str(tmp_path / "shards" / "shard-00001.tar")
    hits = Searcher(tmp_path / "a").search("a red circle", k=9, filters=Filters(under=one)).hits
    assert sorted(h.path for h in hits) == [f"{one}::{i:06d}.jpg" for i in range(3, 6)]


def test_a_second_run_reads_nothing_and_a_changed_shard_is_read_again(tmp_path, micro_model):
    shard = write_shard(tmp_path / "s.tar", range(4))
    index([shard], tmp_path / "lib", str(micro_model), settings())
    again = index([shard], tmp_path / "lib", str(micro_model), settings())
    assert (again.indexed, again.unchanged) == (0, 4)
    write_shard(shard, range(1, 6))  # 000000 gone, 000004 and 000005 new
    os.utime(shard, ns=(1, 10**18))
    changed = index([shard], tmp_path / "lib", str(micro_model), settings())
    assert (changed.indexed, changed.unchanged, changed.missing) == (2, 3, 1)
    assert rows(tmp_path / "lib")["s.tar::000000.jpg"].status == "missing"


def test_indexing_one_shard_leaves_the_other_shards_of_its_folder_alone(tmp_path, micro_model):
    a, b = write_shard(tmp_path / "a.tar", range(3)), write_shard(tmp_path / "b.tar", range(3, 5))
    index([a], tmp_path / "lib", str(micro_model), settings())
    summary = index([b], tmp_path / "lib", str(micro_model), settings())
    assert (summary.indexed, summary.missing) == (2, 0)
    assert {r.status for r in rows(tmp_path / "lib").values()} == {"ok"}


def test_a_corrupt_member_is_one_failure_and_the_rest_of_the_shard_is_indexed(tmp_path, micro_model):
    shard = write_shard(tmp_path / "s.tar", range(5), images={2: b"\xff\xd8 not a jpeg"})
    summary = index([shard], tmp_path / "lib", str(micro_model), settings())
    assert (summary.indexed, summary.failed) == (4, 1)
    assert summary.failures == [(f"{shard}::000002.jpg", "not a recognised image format")]


def test_a_truncated_shard_fails_its_cut_member_only(tmp_path, micro_model):
    shard = write_shard(tmp_path / "s.tar", range(4))
    last = tarfile.open(shard).getmember("000003.jpg")
    with open(shard, "r+b") as fh:
        fh.truncate(last.offset_data + last.size // 2)
    summary = index([shard], tmp_path / "lib", str(micro_model), settings())
    assert (summary.indexed, summary.failed) == (3, 1)
    reason = f"truncated tar member: {last.size // 2} of {last.size} bytes present"
    assert summary.failures == [(f"{shard}::000003.jpg", reason)]


def test_a_corrupt_header_is_recorded_for_the_tar_and_members_after_it_are_still_indexed(tmp_path, micro_model):
    shard = write_shard(tmp_path / "s.tar", range(4))
    header = tarfile.open(shard).getmember("000001.jpg").offset
    with open(shard, "r+b") as fh:
        fh.seek(header)
        fh.write(b"\x07" * 512)
    summary = index([shard], tmp_path / "lib", str(micro_model), settings())
    assert (summary.indexed, summary.failed) == (3, 1)
    ((path, reason),) = summary.failures
    assert path == str(shard) and reason.startswith(f"corrupt tar at byte {header}")


def test_dedup_refuses_to_move_a_tar_member_and_changes_nothing(tmp_path, micro_model):
    shard = write_shard(tmp_path / "s.tar", range(3), images={2: jpeg(0)})  # 000002 is a copy of 000000
    index([shard], tmp_path / "lib", str(micro_model), settings())
    groups = find_groups(tmp_path / "lib")
    assert len(groups) == 1
    before = shard.read_bytes()
    with pytest.raises(InsideShard, match="a member of a tar shard; cannot quarantine it"):
        apply(tmp_path / "lib", groups, "quarantine")
    result = CliRunner().invoke(app, ["dedup", "-l", str(tmp_path / "lib"), "--apply", "symlink"])
    assert result.exit_code == 2 and "a member of a tar shard; cannot symlink it" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert shard.read_bytes() == before and not (tmp_path / "lib" / "quarantine").exists()


def test_export_copies_a_member_out_of_its_tar_and_refuses_to_link_one(tmp_path, micro_model):
    shard = write_shard(tmp_path / "s.tar", range(3))
    index([shard], tmp_path / "lib", str(micro_model), settings())
    base = ["export", "-l", str(tmp_path / "lib"), "-q", "a red circle", "--limit", "3"]
    result = CliRunner().invoke(app, [*base, "--to", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    copied = {p.name.split("_", 1)[1]: p.read_bytes() for p in (tmp_path / "out").glob("*.jpg")}
    assert copied == {f"{i:06d}.jpg": jpeg(i) for i in range(3)}
    linked = CliRunner().invoke(app, [*base, "--to", str(tmp_path / "links"), "--as", "hardlink"])
    assert linked.exit_code == 2 and "cannot hardlink it" in linked.stderr


def test_the_cli_indexes_a_shard_and_searches_with_a_member_and_names_a_missing_one_in_one_line(tmp_path, micro_model):
    shard = write_shard(tmp_path / "s.tar", range(4))
    lib = ["-l", str(tmp_path / "lib")]
    indexed = CliRunner().invoke(app, ["index", str(shard), *lib, "-m", str(micro_model), "--workers", "0", "--json"])
    assert indexed.exit_code == 0 and json.loads(indexed.stdout)["indexed"] == 4
    found = CliRunner().invoke(app, ["search", "--image", f"{shard}::000001.jpg", "-k", "1", *lib, "--json"])
    assert json.loads(found.stdout)[0]["path"] == f"{shard}::000001.jpg"
    assert json.loads(found.stdout)[0]["caption"] == synthetic.sample(1, SEED).caption
    missing = CliRunner().invoke(app, ["search", "--image", f"{shard}::000009.jpg", *lib])
    assert missing.exit_code == 2
    assert missing.stderr.strip() == f"error: {shard}::000009.jpg: no such image member in the tar"


def test_no_tars_leaves_the_shards_in_a_folder_unread(tmp_path, micro_model):
    (tmp_path / "photos").mkdir()
    write_shard(tmp_path / "photos" / "s.tar", range(2))
    args = ["index", str(tmp_path / "photos"), "-l", str(tmp_path / "lib"), "-m", str(micro_model), "--json"]
    assert json.loads(CliRunner().invoke(app, [*args, "--no-tars"]).stdout)["indexed"] == 0
    assert json.loads(CliRunner().invoke(app, args).stdout)["indexed"] == 2


def test_the_search_page_shows_tar_members_with_their_thumbnails(tmp_path, monkeypatch):
    from ui_demo import page

    shard = write_shard(tmp_path / "s.tar", range(8))
    index([shard], tmp_path / "lib", "tiny-shapes", settings())
    monkeypatch.setenv("PIXSEEK_LIBRARY", str(tmp_path / "lib"))
    at = page("search").text_input(key="search_text").input("a red circle").run()
    names = [c.value.split(" · ")[2].split()[0] for c in at.caption if c.value.startswith("#")]
    assert not at.exception and not at.error
    assert sorted(names) == [f"s.tar::{i:06d}.jpg" for i in range(8)] and len(at.image) == 8

"""Keyword search (`pixseek search --text`): names, folders, tar captions and cameras, alone without the model or
fused with a semantic query, kept in step with the files, on SQLite and PostgreSQL, over HTTP too."""

from __future__ import annotations

import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest
from alembic import command
from fastapi.testclient import TestClient
from PIL import Image
from shape_pictures import shape_picture
from sqlalchemy import update
from typer.testing import CliRunner

import search.searcher
from indexer import IndexSettings, index
from indexer.library import Root, catalog, keyword_hits, open_catalog, session
from indexer.sources import synthetic
from search import Filters, RemoteSearcher, Searcher
from ui.cli import app
from ui.service.app import create_app

# (relpath, shape, colour, camera make): two red circles, one of them in the 2021 beach folder
PICTURES = [
    ("beach-2021/IMG_20230512_1200.jpg", "circle", "red", None),
    ("beach-2021/IMG_20230601_0900.jpg", "square", "blue", "Fujifilm"),
    ("city-2019/red-circle.jpg", "circle", "red", None),
    ("city-2019/green-triangle.jpg", "triangle", "green", None),
    ("misc/yellow-square.jpg", "square", "yellow", None),
    ("misc/blue-circle.jpg", "circle", "blue", None),
]
CAPTIONS = ["a lighthouse on the cliff at dusk", "a sleepy dog on a sofa"]
HOSTILE = ['a"b OR (', '"', "NEAR(x y)", "*", "beach AND", "-x", "name:IMG", "%_\\", "'; DROP TABLE files;--", "^ab"]


def picture(path: Path, shape: str, colour: str, make: str | None, i: int) -> None:
    image = shape_picture(shape, colour, i)
    exif = Image.Exif()
    if make:
        exif[0x010F], exif[0x0110] = make, "X-T4"
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, quality=92, exif=exif)


def shard(path: Path) -> None:
    """A WebDataset shard of two samples, each a .jpg with its caption in a .txt."""
    with tarfile.open(path, "w") as tar:
        for i, caption in enumerate(CAPTIONS):
            jpeg = io.BytesIO()
            synthetic.sample(i, 5).image.save(jpeg, "JPEG", quality=90)
            for name, data in ((f"{i:06d}.jpg", jpeg.getvalue()), (f"{i:06d}.txt", caption.encode())):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))


def photos(folder: Path) -> Path:
    for i, (relpath, shape, colour, make) in enumerate(PICTURES):
        picture(folder / relpath, shape, colour, make, i)
    shard(folder / "samples-00000.tar")
    return folder


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """The pictures and the shard indexed with the bundled tiny-shapes model (it knows red circles)."""
    root = photos(tmp_path_factory.mktemp("photos"))
    lib = tmp_path_factory.mktemp("lib")
    index([root], lib, "tiny-shapes", IndexSettings(workers=0))
    return lib, root


def names(hits) -> list[str]:
    return [Path(h.path.replace("::", "/")).name for h in hits]


def keywords(library, text: str, **options) -> list[str]:
    return names(Searcher(library[0]).search(keywords=text, k=50, **options).hits)


def test_keywords_find_files_by_a_piece_of_their_name(library):
    assert sorted(keywords(library, "IMG_20")) == ["IMG_20230512_1200.jpg", "IMG_20230601_0900.jpg"]
    assert keywords(library, "0512") == ["IMG_20230512_1200.jpg"]
    assert len(keywords(library, "img_2023")) == 2 and sorted(keywords(library, "CIRCLE")) == [
        "blue-circle.jpg",
        "red-circle.jpg",
    ]


def test_keywords_find_the_files_of_a_folder_by_its_name(library):
    assert sorted(keywords(library, "beach")) == ["IMG_20230512_1200.jpg", "IMG_20230601_0900.jpg"]
    assert sorted(keywords(library, "2019")) == ["green-triangle.jpg", "red-circle.jpg"]


def test_keywords_find_a_tar_member_by_its_caption_and_a_photo_by_its_camera(library):
    hits = Searcher(library[0]).search(keywords="lighthouse", k=5).hits
    assert [h.path for h in hits] == [str(library[1] / "samples-00000.tar::000000.jpg")]
    assert hits[0].caption == CAPTIONS[0] and hits[0].matched == "keywords"
    assert keywords(library, "fujifilm") == ["IMG_20230601_0900.jpg"]


def test_every_word_must_match(library):
    assert keywords(library, "beach 0601") == ["IMG_20230601_0900.jpg"]
    assert keywords(library, "beach lighthouse") == []


def test_keyword_hits_all_count_as_relevant_and_take_filters_paging_and_sort(library):
    searcher = Searcher(library[0])
    every = searcher.search(keywords="jpg", k=3)
    assert every.total == len(PICTURES) + len(CAPTIONS) and len(every.hits) == 3
    rest = searcher.search(keywords="jpg", k=50, offset=3).hits
    assert {h.image_id for h in every.hits}.isdisjoint(h.image_id for h in rest) and len(rest) == every.total - 3
    below = searcher.search(keywords="jpg", k=50, filters=Filters(under=str(library[1] / "misc")))
    assert sorted(names(below.hits)) == ["blue-circle.jpg", "yellow-square.jpg"] and below.total == 2
    by_path = searcher.search(keywords="circle", sort="path", reverse=True).hits
    assert [h.path for h in by_path] == sorted((h.path for h in by_path), reverse=True)


@pytest.mark.parametrize("text", HOSTILE)
def test_fts_syntax_in_keywords_is_searched_as_text_and_never_raises(library, text):
    result = Searcher(library[0]).search(keywords=text, k=5)
    assert result.hits == []


def test_words_too_short_for_the_index_are_left_out_with_a_warning(library):
    result = Searcher(library[0]).search(keywords="beach at", k=5)
    assert len(result.hits) == 2 and result.warnings == ["keyword 'at' is shorter than 3 characters; it was left out"]


def test_a_query_fused_with_keywords_puts_the_image_matching_both_first(library):
    searcher = Searcher(library[0])
    semantic = searcher.search("a red circle", k=3).hits
    assert set(names(semantic[:2])) == {"IMG_20230512_1200.jpg", "red-circle.jpg"}  # the model sees both circles
    fused = searcher.search("a red circle", keywords="beach", k=20).hits
    assert names(fused[:1]) == ["IMG_20230512_1200.jpg"] and fused[0].matched == "both"
    how = {name: h.matched for name, h in zip(names(fused), fused, strict=True)}
    assert how["IMG_20230601_0900.jpg"] == "both" and how["red-circle.jpg"] == "semantic"
    assert [h.score for h in fused] == sorted((h.score for h in fused), reverse=True)
    assert len({h.image_id for h in fused}) == len(fused)


def test_relevant_keeps_what_stands_out_for_the_query_and_every_keyword_match(library):
    fused = Searcher(library[0]).search("a red circle", keywords="lighthouse", relevant=True, k=20)
    assert set(names(fused.hits)) == {"IMG_20230512_1200.jpg", "red-circle.jpg", "000000.jpg"}
    assert fused.total == 3


def run(library, *args):
    return CliRunner().invoke(app, ["search", *args, "-l", str(library[0])])


def test_search_text_alone_loads_no_model(library, monkeypatch):
    def no_model(*args, **kwargs):
        raise AssertionError("a keyword search loaded the model")

    monkeypatch.setattr(search.searcher, "load_model", no_model)
    search.searcher.cached_encoder.cache_clear()
    result = run(library, "--text", "IMG_20", "-f")
    assert result.exit_code == 0, result.output
    assert sorted(result.stdout.split()) == sorted(str(library[1] / p) for p, *_ in PICTURES[:2])
    found = json.loads(run(library, "--text", 'beach 0512 a"b', "--json").stdout)
    assert found == []  # 'a"b' is a word that no file holds: nothing matches every word
    piped = run(library, "-t", "lighthouse").stdout.strip().split("\t")
    assert piped[0] == "1" and piped[3] == str(library[1] / "samples-00000.tar::000000.jpg")


def test_search_text_with_a_query_prints_one_fused_list(library):
    result = run(library, "a red circle", "--text", "2021", "--json")
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert Path(hits[0]["path"]).name == "IMG_20230512_1200.jpg" and hits[0]["matched"] == "both"
    assert all(set(h) >= {"path", "score", "matched"} for h in hits)


def test_the_service_and_a_remote_searcher_take_keywords(library):
    client = TestClient(create_app(library[0]))
    got = client.get("/api/search", params={"keywords": "IMG_20", "k": 5}).json()
    assert sorted(names_of(got["hits"])) == ["IMG_20230512_1200.jpg", "IMG_20230601_0900.jpg"]
    posted = client.post("/api/search", json={"q": ["a red circle"], "keywords": "beach", "k": 3}).json()
    assert names_of(posted["hits"])[0] == "IMG_20230512_1200.jpg" and posted["hits"][0]["matched"] == "both"
    remote = RemoteSearcher("http://testserver")
    remote._client = client  # the service in process: TestClient is the httpx.Client RemoteSearcher holds
    here = Searcher(library[0]).search("a red circle", keywords="beach", k=4).hits
    assert remote.search("a red circle", keywords="beach", k=4).hits == here
    assert 400 <= client.get("/api/search", params={"keywords": "x" * 1001}).status_code < 500


def names_of(hits: list[dict]) -> list[str]:
    return [Path(h["path"]).name for h in hits]


def in_step(lib: Path, root: Path, micro_model) -> None:
    """The keyword index follows a rename, a move to another folder and a deletion on the next index run."""
    (root / "city-2019" / "red-circle.jpg").rename(root / "city-2019" / "renamed-disc.jpg")
    (root / "misc" / "blue-circle.jpg").rename(root / "beach-2021" / "moved-in.jpg")
    (root / "misc" / "yellow-square.jpg").unlink()
    summary = index([root], lib, str(micro_model), IndexSettings(workers=0))
    assert summary.moved == 2
    assert keywords((lib,), "red-circle") == [] and keywords((lib,), "renamed-disc") == ["renamed-disc.jpg"]
    assert sorted(keywords((lib,), "beach")) == ["IMG_20230512_1200.jpg", "IMG_20230601_0900.jpg", "moved-in.jpg"]
    assert keywords((lib,), "misc") == [] and keywords((lib,), "yellow") == []


def test_the_keyword_index_follows_renames_moves_and_deletions(tmp_path, micro_model):
    root = photos(tmp_path / "photos")
    index([root], tmp_path / "lib", str(micro_model), IndexSettings(workers=0))
    assert sorted(keywords((tmp_path / "lib",), "misc")) == ["blue-circle.jpg", "yellow-square.jpg"]
    in_step(tmp_path / "lib", root, micro_model)


def test_the_keyword_index_follows_a_root_that_moved(tmp_path, micro_model):
    root = photos(tmp_path / "photos")
    index([root], tmp_path / "lib", str(micro_model), IndexSettings(workers=0))
    engine = open_catalog(tmp_path / "lib")
    with session(engine, write=True) as s:
        s.execute(update(Root).values(path=str(tmp_path / "archive-volume")))
        s.commit()
        assert len(keyword_hits(s, "archive-vol")[0]) == len(PICTURES) + len(CAPTIONS)
        assert len(keyword_hits(s, str(tmp_path / "photos"))[0]) == 0
    engine.dispose()


def test_the_upgrade_fills_the_keyword_index_of_an_existing_library(tmp_path, micro_model):
    root = photos(tmp_path / "photos")
    index([root], tmp_path / "lib", str(micro_model), IndexSettings(workers=0))
    command.downgrade(catalog.alembic_config(catalog.catalog_url(tmp_path / "lib")), "b3f1c2d4e5a6")
    engine = catalog.create_catalog_engine(catalog.catalog_url(tmp_path / "lib"))
    with engine.connect() as c:
        assert "file_keywords" not in {r[0] for r in c.exec_driver_sql("SELECT name FROM sqlite_master")}
    engine.dispose()
    assert sorted(keywords((tmp_path / "lib",), "beach")) == ["IMG_20230512_1200.jpg", "IMG_20230601_0900.jpg"]


def test_a_postgresql_catalog_finds_keywords_follows_the_files_takes_hostile_text(tmp_path, micro_model, postgres_url):
    root = photos(tmp_path / "photos")
    catalog.use_database(tmp_path / "lib", postgres_url)
    index([root], tmp_path / "lib", str(micro_model), IndexSettings(workers=0))
    lib = (tmp_path / "lib",)
    assert sorted(keywords(lib, "IMG_20")) == ["IMG_20230512_1200.jpg", "IMG_20230601_0900.jpg"]
    assert keywords(lib, "lighthouse") == ["000000.jpg"] and keywords(lib, "FUJIFILM") == ["IMG_20230601_0900.jpg"]
    assert keywords(lib, "img%20") == [] and keywords(lib, "IMG_2023_") == []  # LIKE wildcards are plain text
    for text in HOSTILE:
        assert keywords(lib, text) == []
    in_step(tmp_path / "lib", root, micro_model)
    fused = Searcher(tmp_path / "lib").search("a red circle", keywords="0512", k=50).hits
    assert fused[0].matched == "both" and names(fused[:1]) == ["IMG_20230512_1200.jpg"]


def test_a_folder_copied_in_shows_up_under_both_names(tmp_path, micro_model):
    root = photos(tmp_path / "photos")
    shutil.copytree(root / "beach-2021", root / "holiday-copy")
    index([root], tmp_path / "lib", str(micro_model), IndexSettings(workers=0))
    hits = Searcher(tmp_path / "lib").search(keywords="holiday", k=10).hits
    assert len(hits) == 2  # one hit per image: its copies share the vector and the id

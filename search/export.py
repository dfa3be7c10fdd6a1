"""Writing a subset out: files (copy, hardlink, symlink), manifests (CSV, JSONL, Parquet) or WebDataset shards.

Every export folder also gets `recipe.json` (search.curate.Recipe), from which `pixseek export --recipe`
regenerates the same subset. Every destination goes through search.safe_paths.inside: nothing is written
outside the target folder, nothing existing is overwritten, and a target folder that is a symbolic link is
refused. File exports name each file `<image id>_<file name>` (unique, the same on every regeneration) and
write `manifest.jsonl` beside them. A member of a tar shard (`<tar>::<member>`) is copied out of its tar;
linking one is refused (InsideShard), as there is no file to link to.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

from indexer import PixseekError
from indexer.sources import read_source, refuse_members, split_address

from .recipe import Subset
from .safe_paths import inside, own_folder

FORMATS = ("copy", "hardlink", "symlink", "csv", "jsonl", "parquet", "webdataset")
SHARD_SIZE = 1000  # samples per WebDataset shard
EXTENSIONS = {"JPEG": "jpg", "MPO": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif", "TIFF": "tiff", "BMP": "bmp"}
RECIPE_FILE = "recipe.json"


class UnknownFormat(PixseekError):
    def __init__(self, as_: str):
        super().__init__(f"unknown export format {as_!r}; choose from {', '.join(FORMATS)}")


def export(subset: Subset, to: str | Path, as_: str = "copy") -> Path:
    """Write the subset into the folder `to` (created) as `as_` (one of FORMATS); returns the main file or folder."""
    if as_ not in FORMATS:
        raise UnknownFormat(as_)
    to = own_folder(Path(to).expanduser().absolute())
    recipe = inside(to, RECIPE_FILE)  # checked first: a folder that already holds an export is refused whole
    out = WRITERS[as_](subset.rows(), to, as_)
    recipe.write_text(subset.recipe.to_json())
    return out


def _files(rows: list[dict], to: Path, as_: str) -> Path:
    if as_ != "copy":
        refuse_members((row["path"] for row in rows), as_)
    dests = [inside(to, f"{row['image_id']}_{_file_name(row['path'])}") for row in rows]  # all checked, then written
    placed = []
    for row, dest in zip(rows, dests, strict=True):
        if as_ == "copy" and split_address(row["path"]) is not None:
            _copy_member(row["path"], dest)
        elif as_ == "copy":
            shutil.copy2(row["path"], dest)
        elif as_ == "hardlink":
            os.link(row["path"], dest)
        else:
            os.symlink(row["path"], dest)
        placed.append({**row, "source": row["path"], "path": str(dest)})
    return _jsonl(placed, to, as_)


def _file_name(path: str) -> str:
    """The file name of a path, or of a tar member's name (not `shard.tar::name`)."""
    parts = split_address(path)
    return Path(parts[1] if parts else path).name


def _copy_member(path: str, dest: Path) -> None:
    """Write a tar member's bytes to dest (a new file: `inside` checked it does not exist)."""
    with open(dest, "xb") as fh:
        fh.write(read_source(path))


def _jsonl(rows: list[dict], to: Path, _as: str) -> Path:
    path = inside(to, "manifest.jsonl")
    with open(path, "w") as fh:
        fh.writelines(json.dumps(row) + "\n" for row in rows)
    return path


def _csv(rows: list[dict], to: Path, _as: str) -> Path:
    path = inside(to, "manifest.csv")
    with open(path, "w", newline="") as fh:
        out = csv.DictWriter(fh, list(rows[0]) if rows else ["path", "score"])
        out.writeheader()
        out.writerows(rows)
    return path


def _parquet(rows: list[dict], to: Path, _as: str) -> Path:
    # Imported here, not with the module: every `pixseek` command imports this module, and pyarrow costs
    # a quarter second; webdataset imports torch (1.8 s on 2 cores) whenever it is installed.
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = inside(to, "manifest.parquet")
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def _webdataset(rows: list[dict], to: Path, _as: str) -> Path:
    """Shards shard-000000.tar, ...: per sample `<key>.<ext>` (the file's own bytes) and `<key>.json`."""
    import webdataset as wds  # see _parquet: imported when used

    opener = lambda name: open(inside(to, Path(name).name), "wb")  # noqa: E731  through the path check
    with wds.ShardWriter("shard-%06d.tar", maxcount=SHARD_SIZE, verbose=0, opener=opener, mtime=0) as sink:
        for row in rows:
            ext = EXTENSIONS.get(row["format"].upper(), Path(row["path"]).suffix.lstrip(".").lower() or "bin")
            sink.write({"__key__": f"{row['image_id']:09d}", ext: read_source(row["path"]), "json": row})
    return to


WRITERS = {"copy": _files, "hardlink": _files, "symlink": _files, "csv": _csv, "jsonl": _jsonl}
WRITERS |= {"parquet": _parquet, "webdataset": _webdataset}

"""`pixseek demo`: a demo library of generated shapes and scikit-image's photos, indexed, searched and served.

The photos folder holds, below <demo>/photos:
  shapes/<album>/NNNNN.jpg|png   coloured shapes (indexer.sources.synthetic) in five albums, with EXIF dates and cameras
  photos/<name>                  the sample photos bundled inside scikit-image's wheel (no download)
  copies/...                     planted near-duplicates: JPEG re-encodes, half-size resizes and byte copies
and truth.json, the ground truth of every shapes file (and the original of every copy).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import platformdirs
from PIL import Image

from indexer import PixseekError
from indexer.pipeline import IndexSettings, IndexSummary, index
from indexer.sources import synthetic
from search import Hit, Searcher

SEED = 2026  # a seed the bundled model was not trained on
SHAPES = 300
ALBUMS = ("holidays-2019", "holidays-2022", "garden", "studio", "phone")
CAMERAS = (("Canon", "EOS R5"), ("Google", "Pixel 7"), ("Apple", "iPhone 13"), ("Fujifilm", "X-T4"), None)
SKIMAGE_PHOTOS = (
    "astronaut.png",
    "brick.png",
    "camera.png",
    "cell.png",
    "chelsea.png",
    "coffee.png",
    "coins.png",
    "color.png",
    "grass.png",
    "gravel.png",
    "hubble_deep_field.jpg",
    "ihc.png",
    "logo.png",
    "microaneurysms.png",
    "moon.png",
    "motorcycle_left.png",
    "motorcycle_right.png",
    "page.png",
    "retina.jpg",
    "rocket.jpg",
    "text.png",
)
COPIED = range(0, 60, 5)  # shapes indices that get planted near-duplicates (12 groups)
EXACT_COPIES = range(0, 60, 20)  # ... and of those, which also get a byte-identical copy
QUERIES = ("a red circle", "a blue square", "two yellow stars", "a green triangle on a white background")
TRUTH = "truth.json"
DATE0 = datetime(2015, 3, 1, 9, 30)


class DemoError(PixseekError):
    def __init__(self, folder: Path, reason: str):
        self.folder, self.reason = folder, reason
        super().__init__(f"{folder}: cannot build the demo library here ({reason}); pick another with -l DIR")


@dataclass(frozen=True)
class Demo:
    library: Path
    photos: Path
    reused: bool  # the photos were already there from an earlier run
    summary: IndexSummary


def default_dir() -> Path:
    """Where `pixseek demo` builds its library unless told: the user data directory's demo folder."""
    return Path(platformdirs.user_data_dir("pixseek")) / "demo"


def _exif(i: int) -> Image.Exif:
    exif = Image.Exif()
    camera = CAMERAS[i % len(CAMERAS)]
    if camera is not None:
        exif[0x010F], exif[0x0110] = camera
    taken = DATE0 + timedelta(days=11 * i, hours=i % 7)  # about ten years, spread over the albums
    exif.get_ifd(0x8769)[0x9003] = taken.strftime("%Y:%m:%d %H:%M:%S")
    return exif


def _write_shape(i: int, folder: Path) -> tuple[str, dict]:
    """Sample i, scaled 1-3x so size filters matter, as JPEG (with EXIF) or PNG; (relpath, its truth)."""
    sample = synthetic.sample(i, SEED)
    album = ALBUMS[i % len(ALBUMS)]
    scale = 1 + i % 3
    image = sample.image.resize((sample.image.width * scale, sample.image.height * scale), Image.Resampling.BICUBIC)
    relpath = f"shapes/{album}/{i:05d}." + ("png" if i % 4 == 3 else "jpg")
    (folder / relpath).parent.mkdir(parents=True, exist_ok=True)
    if relpath.endswith(".png"):
        image.save(folder / relpath)
    else:
        image.save(folder / relpath, quality=92, exif=_exif(i))
    truth = {"caption": sample.caption, "background": sample.background}
    truth["shapes"] = [{"kind": s.kind, "colour": s.colour, "size": s.size} for s in sample.shapes]
    return relpath, truth


def _plant_copies(folder: Path, relpath: str) -> list[str]:
    """Near-duplicates of one file under copies/: a JPEG re-encode, a half-size resize, maybe a byte copy."""
    source = folder / relpath
    stem = Path(relpath).stem
    out = folder / "copies"
    out.mkdir(exist_ok=True)
    with Image.open(source) as image:
        image = image.convert("RGB")
        image.save(out / f"{stem}-reencoded.jpg", quality=55)
        image.resize((max(32, image.width // 2), max(32, image.height // 2))).save(out / f"{stem}-small.png")
    made = [f"copies/{stem}-reencoded.jpg", f"copies/{stem}-small.png"]
    if int(stem) in EXACT_COPIES:
        shutil.copyfile(source, out / f"{stem}-copy{source.suffix}")
        made.append(f"copies/{stem}-copy{source.suffix}")
    return made


def _copy_skimage_photos(folder: Path) -> list[str]:
    """The sample photos that ship inside scikit-image's wheel (those present; none is downloaded)."""
    import skimage.data

    bundled = Path(skimage.data.__file__).parent
    (folder / "photos").mkdir(exist_ok=True)
    copied = []
    for name in SKIMAGE_PHOTOS:
        if (bundled / name).is_file():
            shutil.copyfile(bundled / name, folder / "photos" / name)
            copied.append(f"photos/{name}")
    return copied


def write_photos(folder: Path) -> dict:
    """Generate the demo's image files under `folder`; return (and write last, as truth.json) the ground truth."""
    folder.mkdir(parents=True, exist_ok=True)
    truth: dict[str, dict] = {}
    for i in range(SHAPES):
        relpath, sample_truth = _write_shape(i, folder)
        truth[relpath] = sample_truth
        if i in COPIED:
            for copy in _plant_copies(folder, relpath):
                truth[copy] = {**sample_truth, "original": relpath}
    for relpath in _copy_skimage_photos(folder):
        truth[relpath] = {"photo": True}
    (folder / TRUTH).write_text(json.dumps(truth, indent=1))  # written last: its presence means "complete"
    return truth


def build(directory: Path | None = None, settings: IndexSettings | None = None) -> Demo:
    """The demo library in `directory` (default: default_dir()): photos generated once, then indexed."""
    library = (directory or default_dir()).expanduser().resolve()
    photos = library / "photos"
    reused = (photos / TRUTH).is_file()
    if not reused:
        try:
            if photos.exists():
                shutil.rmtree(photos)  # a run killed half-way: start the photos again
            write_photos(photos)
        except OSError as exc:
            raise DemoError(library, exc.strerror or str(exc)) from exc
    summary = index([photos], library, "tiny-shapes", settings or IndexSettings())
    return Demo(library=library, photos=photos, reused=reused, summary=summary)


def searches(library: Path, k: int = 3) -> list[tuple[str, list[Hit]]]:
    """The top k hits of each demo query."""
    searcher = Searcher(library)
    return [(query, searcher.search(query, k=k).hits) for query in QUERIES]


def truth(photos: Path) -> dict[str, dict]:
    """The demo's ground truth: relpath under photos/ -> caption, background, shapes (or photo: true)."""
    return json.loads((photos / TRUTH).read_text())

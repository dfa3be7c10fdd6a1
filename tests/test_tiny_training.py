"""The generator and the trainer run end to end (a few steps on a few dozen images), so neither can rot."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from indexer import load_model

ROOT = Path(__file__).parents[1]


def _train(out: Path, *options: str) -> str:
    cmd = [sys.executable, str(ROOT / "tools" / "train_tiny.py"), "--out", str(out), "--pool", "48", "--batch", "16"]
    done = subprocess.run([*cmd, "--warmup", "1", *options], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_trainer_writes_a_model_directory_that_loads_and_encodes(tmp_path):
    out = tmp_path / "tiny"
    assert "step     2" in _train(out, "--steps", "3")
    enc = load_model(out, runtime="paddle", device="cpu")
    vectors = enc.encode_texts(["a red circle", "two blue squares on a white background"])
    assert vectors.shape == (2, 128) and np.isfinite(vectors).all()


def test_trainer_takes_an_architecture_file_one_view_and_a_time_limit(tmp_path):
    out, arch = tmp_path / "tiny", tmp_path / "tiny-32px.json"
    config = json.loads((ROOT / "indexer" / "architectures" / "tiny-shapes.json").read_text())
    config["vision_config"]["image_size"] = 32
    arch.write_text(json.dumps(config))
    log = _train(out, "--arch", str(arch), "--views", "1", "--steps", "500", "--max-minutes", "0.0001")
    assert "stopped after step 0" in log  # the pool alone takes longer than the limit: one step, then export
    assert json.loads((out / "preprocessor_config.json").read_text())["crop_size"] == {"height": 32, "width": 32}
    enc = load_model(out, runtime="paddle", device="cpu")
    assert enc.encode_images([Image.new("RGB", (80, 50), "red")]).shape == (1, 128)


def test_generator_cli_writes_images_and_captions(tmp_path):
    cmd = [sys.executable, "-m", "ui.shapes", str(tmp_path / "set"), "--n", "24", "--seed", "11"]
    subprocess.run(cmd, check=True, capture_output=True, timeout=120, cwd=ROOT)
    lines = (tmp_path / "set" / "captions.jsonl").read_text().splitlines()
    assert len(lines) == 24 and len(list((tmp_path / "set").glob("0*.*"))) == 24


def _trainer_module():
    sys.path.insert(0, str(ROOT / "tools"))
    import train_tiny

    return train_tiny


def test_training_captions_claim_what_is_true_of_their_image_and_targets_follow_the_claims():
    from ui import shapes

    train_tiny, rng = _trainer_module(), np.random.default_rng(3)
    samples = shapes.generate(200, seed=77)
    drawn = [train_tiny.training_caption(s, rng) for s in samples]
    for sample, (text, claim) in zip(samples, drawn, strict=True):
        assert claim.holds_for(sample), text
        assert all(colour in text and kind in text for colour, kind in claim.pairs), text
        assert (claim.background is not None) == ("background" in text), text
    groups = [len(shapes.by_colour_and_kind(s.shapes)) for s in samples]
    partial = [len(c.pairs) < n for n, (_, c) in zip(groups, drawn, strict=True)]
    assert sum(partial) > 20

    claims = [c for _, c in drawn]
    assert train_tiny.caption_targets(claims, samples, 0.0) is None  # plain CLIP
    targets = train_tiny.caption_targets(claims, samples, 0.5)
    assert np.allclose(targets.sum(axis=1), 1) and (np.diag(targets) >= 0.5).all()
    for i, claim in enumerate(claims):
        true_of = np.array([claim.holds_for(s) for s in samples])
        assert (targets[i][~true_of] == 0).all() and (targets[i][true_of] > 0).all()
    # "a red circle" style claims are true of other images too: those are the false negatives plain CLIP has.
    assert (np.count_nonzero(targets, axis=1) > 1).mean() > 0.3


def test_trainer_with_shared_positives_runs(tmp_path):
    assert "step     1" in _train(tmp_path / "tiny", "--steps", "2", "--views", "1", "--shared-positives", "0.5")


def test_close_ups_show_one_shape_large_with_a_caption_true_of_the_crop():
    from ui import shapes

    train_tiny, rng = _trainer_module(), np.random.default_rng(5)
    for sample in shapes.generate(60, seed=91):
        crop, text, claim = train_tiny.close_up(sample, rng)
        assert crop.width == crop.height and len(claim.pairs) == 1
        ((colour, kind),) = claim.pairs
        assert colour in text and kind in text and claim.holds_for(sample), text
        named = np.abs(np.asarray(crop, dtype=int) - shapes.COLOURS[colour]).max(axis=2) < 60
        assert named.mean() > 0.05, text  # the named shape fills a good part of the crop (a star ~9%)
        assert (claim.background is not None) == ("background" in text)

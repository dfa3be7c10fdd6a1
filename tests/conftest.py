"""Shared fixtures: small models in the release layout, built once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from indexer.model.directory import architecture, write_model_dir
from indexer.model.state import random_state

NARROW_SEED = 0


@pytest.fixture(scope="session", autouse=True)
def weights_cache(tmp_path_factory):
    """The converted weights cache of this test session (not the user's), inherited by the CLI processes."""
    path = tmp_path_factory.mktemp("weights-cache")
    os.environ["PIXSEEK_CACHE_DIR"] = str(path)
    return path  # the seed tools/make_golden.py used for tests/data/golden-vit-g-14-narrow.npz


@pytest.fixture(scope="session")
def narrow_config():
    return architecture("vit-g-14-narrow")


@pytest.fixture(scope="session")
def narrow_state(narrow_config):
    return random_state(narrow_config, seed=NARROW_SEED)


@pytest.fixture(scope="session")
def narrow_model(tmp_path_factory, narrow_config, narrow_state) -> Path:
    """ViT-g/14 widths, heads and activations with 2 layers per tower, seeded weights, pdparams layout."""
    return write_model_dir(tmp_path_factory.mktemp("models") / "vit-g-14-narrow", narrow_config, narrow_state)


@pytest.fixture(scope="session")
def micro_model(tmp_path_factory) -> Path:
    """A very small random CLIP (width 32, one layer) in the release layout: 7 MB, loads in a second."""
    from indexer.model.config import ModelConfig, PreprocessConfig, TextConfig, VisionConfig

    config = ModelConfig(
        embed_dim=16,
        vision=VisionConfig(width=32, layers=1, heads=2, mlp=64, patch=8, image_size=32, act="gelu", eps=1e-5),
        text=TextConfig(
            width=32, layers=1, heads=2, mlp=64, vocab=49408, context=77, act="gelu", eps=1e-5, eos_token_id=49407
        ),
        preprocess=PreprocessConfig(size=32),
    )
    return write_model_dir(tmp_path_factory.mktemp("models") / "micro", config, random_state(config, seed=1))


@pytest.fixture(scope="session")
def demo_library(tmp_path_factory):
    """`pixseek demo --no-serve` on a tmp folder: the UI tests' library (about 350 images, tiny-shapes)."""
    from ui_demo import build_demo

    return build_demo(tmp_path_factory.mktemp("demo") / "library")


@pytest.fixture
def postgres_url():
    """A fresh, empty PostgreSQL database for one test (server from tools/postgres.sh, which tools/test.sh runs)."""
    import os
    import uuid

    from sqlalchemy import create_engine, make_url, text

    admin = os.environ.get("PIXSEEK_TEST_POSTGRES")
    if not admin:
        pytest.skip("no PostgreSQL server: run `export PIXSEEK_TEST_POSTGRES=$(tools/postgres.sh)`")
    name = f"pixseek_test_{uuid.uuid4().hex[:12]}"
    server = create_engine(admin, isolation_level="AUTOCOMMIT")
    with server.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    with server.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    server.dispose()


@pytest.fixture
def on_demo(demo_library, monkeypatch):
    """The demo library as the app's library ($PIXSEEK_LIBRARY, as `pixseek ui` sets it)."""
    monkeypatch.setenv("PIXSEEK_LIBRARY", str(demo_library.library))
    return demo_library


@pytest.fixture(autouse=True)
def _main_module_kept():
    """Streamlit's AppTest runs a page as `__main__` and leaves it in sys.modules; a process started later
    with multiprocessing's spawn would then import that page as its main module. Put the real one back."""
    import sys

    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main

"""A library whose catalog lives in PostgreSQL: index, re-index, search and status, end to end."""

from __future__ import annotations

import json

import numpy as np
from sqlalchemy import create_engine, func, select
from typer.testing import CliRunner

from indexer.library.sync import fetch_vectors
from indexer.library.tables import Embedding, File
from indexer.sources import synthetic
from ui.cli.main import app


def invoke(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def test_a_postgresql_catalog_indexes_reindexes_nothing_searches_and_reports(tmp_path, micro_model, postgres_url):
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(24):
        synthetic.write(synthetic.sample(i, 8), folder, i)
    lib, model = str(tmp_path / "lib"), str(micro_model)
    first = invoke("index", str(folder), "-l", lib, "-m", model, "--workers", "0", "--db", postgres_url, "--json")
    assert first.exit_code == 0, first.output
    assert not (tmp_path / "lib" / "catalog.sqlite").exists()
    again = invoke("index", str(folder), "-l", lib, "-m", model, "--workers", "0", "--json")
    assert json.loads(again.stdout)["indexed"] == 0 and json.loads(again.stdout)["unchanged"] == 24  # no --db needed

    found = invoke("search", "a red circle", "-l", lib, "-k", "5", "--json")
    assert found.exit_code == 0 and len(json.loads(found.stdout)) == 5
    status = json.loads(invoke("status", "-l", lib, "--json").stdout)
    assert status["catalog"].startswith("postgresql+psycopg://pixseek:***@") and status["counts"]["files"]["ok"] == 24

    engine = create_engine(postgres_url)
    with engine.connect() as c:
        assert c.scalar(select(func.count(File.id))) == 24
        ids = np.array(c.scalars(select(Embedding.image_id)).all())
    vectors = fetch_vectors(engine, 1, status["model"]["dim"])(ids)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    engine.dispose()


def test_a_bad_database_url_is_one_line_on_stderr(tmp_path, micro_model):
    folder = tmp_path / "photos"
    folder.mkdir()
    result = CliRunner().invoke(app, ["index", str(folder), "-l", str(tmp_path / "lib"), "--db", "nonsense"])
    assert result.exit_code != 0 and "not a database URL: 'nonsense'" in result.stderr
    assert "Traceback" not in result.output

#!/usr/bin/env bash
# Install pixseek with both runtimes and the test tools into .venv, lint, and run the whole test suite.
# Extra arguments go to pytest (e.g. `tools/test.sh -m slow` for the full ViT-g/14 parity run).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# constraints.txt pins torch/torchvision to the pair that installs from local disk on this kind of machine.
.venv/bin/python -m pip install -q -c tools/constraints.txt -e ".[cpu,torch,ray,dev]"
# clip-retrieval's own ClipClient, for the compatibility test of `pixseek serve`: without its dependencies
# (its back end's torch, faiss, flask...); the test loads clip_retrieval/clip_client.py, which needs only requests.
.venv/bin/python -m pip install -q --no-deps clip-retrieval==2.45.0
tests/install_chromium.sh  # the browser test's chromium (Debian's package)
# A local PostgreSQL server for the catalog tests that run on it (Debian's package; one database per test).
PIXSEEK_TEST_POSTGRES=$(tools/postgres.sh)
export PIXSEEK_TEST_POSTGRES
.venv/bin/ruff check .
.venv/bin/ruff format --check .
exec .venv/bin/pytest "$@"

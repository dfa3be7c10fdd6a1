"""`pixseek serve` as other programs use it: a real uvicorn on 127.0.0.1, driven over HTTP, by the CLI's
`--server` and by clip-retrieval's own ClipClient."""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
from PIL import Image
from service_process import ROOT, serving
from typer.testing import CliRunner

from indexer import IndexSettings, index
from indexer.sources import synthetic
from search import Searcher
from ui.cli import app


@pytest.fixture(scope="module")
def served(demo_library):
    """The demo library served on the runtime the in-process searches use, so results compare exactly
    (left to choose, a server may take another runtime, whose scores differ in the last digits)."""
    with serving(demo_library.library, "--runtime", "numpy") as url:
        yield url


def test_a_text_search_over_http_gives_the_in_process_hits(served, demo_library):
    remote = httpx.get(f"{served}/api/search", params={"q": "a red circle", "k": 5}).json()
    local = Searcher(demo_library.library).search("a red circle", k=5)
    assert [h["path"] for h in remote["hits"]] == [h.path for h in local.hits]
    assert [round(h["score"], 5) for h in remote["hits"]] == [round(h.score, 5) for h in local.hits]


def test_the_cli_with_server_prints_what_it_prints_without(served, demo_library):
    args = ["search", "a blue square", "-k", "4", "--json", "-l", str(demo_library.library)]
    here = CliRunner().invoke(app, args)
    there = CliRunner().invoke(app, [*args, "--server", served])
    assert here.exit_code == there.exit_code == 0, there.output
    assert json.loads(there.stdout) == json.loads(here.stdout)


def test_an_uploaded_image_finds_itself_first(served, demo_library):
    path = demo_library.library / "photos" / "shapes" / "studio" / "00053.jpg"
    hits = httpx.post(f"{served}/api/search/upload", files={"file": ("q.jpg", path.read_bytes())}, data={"k": 3})
    assert hits.status_code == 200 and hits.json()["hits"][0]["path"] == str(path)


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("notes.png", b"this is not an image", "not a recognised image format"),
        ("empty.png", b"", "the file is empty"),
    ],
)
def test_a_bad_upload_is_a_400_with_one_line(served, name, data, reason):
    response = httpx.post(f"{served}/api/search/upload", files={"file": (name, data)})
    assert response.status_code == 400 and reason in response.json()["detail"]
    assert "\n" not in response.json()["detail"] and "Traceback" not in response.text


def test_a_decompression_bomb_upload_is_refused_from_its_header(served):
    bomb = io.BytesIO()
    Image.new("1", (20000, 20000)).save(bomb, "PNG")  # 400 M pixels, a few KB
    response = httpx.post(f"{served}/api/search/upload", files={"file": ("bomb.png", bomb.getvalue())})
    assert response.status_code == 400 and "over the limit" in response.json()["detail"]


def test_thumbnails_and_originals_are_served_by_id_and_unknown_ids_are_404(served, demo_library):
    hit = httpx.get(f"{served}/api/search", params={"q": "a red circle", "k": 1}).json()["hits"][0]
    thumb = httpx.get(f"{served}/api/thumbnail/{hit['image_id']}")
    original = httpx.get(f"{served}/api/original/{hit['image_id']}")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert original.content == Path(hit["path"]).read_bytes()
    assert httpx.get(f"{served}/api/original/987654").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/api/original/..%2F..%2Fetc%2Fpasswd",
        "/api/original/-1",
        "/api/thumbnail/1e9",
        "/api/original/%00",
        "/api/original/99999999999999999999",
    ],
)
def test_a_path_in_place_of_an_id_is_a_4xx(served, path):
    response = httpx.get(served + path)
    assert 400 <= response.status_code < 500 and "root:" not in response.text


def test_an_image_term_outside_the_roots_is_refused(served, tmp_path):
    outside = tmp_path / "secret.png"
    Image.new("RGB", (32, 32), "red").save(outside)
    for path in (str(outside), "/etc/passwd", "../../../../etc/passwd"):
        response = httpx.post(f"{served}/api/search", json={"images": [path]})
        assert response.status_code == 403 and "not inside" in response.json()["detail"], path


@pytest.mark.parametrize(
    ("body", "status"),
    [(b"{bad json", 422), (b'{"k": "many"}', 422), (b'{"sort": "name"}', 422), (b'{"q": ["id:99999999"]}', 400),
     (b'{"q": [], "k": 3}', 400), (b'{"nonsense": 1}', 422)],
)  # fmt: skip
def test_bad_requests_are_a_4xx_with_one_line_never_a_500(served, body, status):
    response = httpx.post(f"{served}/api/search", content=body, headers={"content-type": "application/json"})
    assert response.status_code == status, response.text
    assert "\n" not in response.json()["detail"]


def test_status_duplicates_and_the_openapi_docs_are_served(served):
    assert httpx.get(f"{served}/api/status").json()["counts"]["images"] > 300
    groups = httpx.get(f"{served}/api/duplicates").json()
    assert groups and {"tier", "members", "keep"} <= set(groups[0])
    assert httpx.get(f"{served}/docs").status_code == 200 and "/knn-service" in httpx.get(f"{served}/openapi.json").text


def test_cors_is_off_unless_asked_for(served, demo_library):
    origin = {"origin": "http://example.test"}
    assert "access-control-allow-origin" not in httpx.get(f"{served}/api/health", headers=origin).headers
    with serving(demo_library.library, "--cors", "http://example.test") as url:
        allowed = httpx.get(f"{url}/api/health", headers=origin).headers
    assert allowed["access-control-allow-origin"] == "http://example.test"


def clip_client_module():
    """clip-retrieval's own client (clip_retrieval/clip_client.py), installed with `pip install --no-deps
    clip-retrieval` (tools/test.sh): its package __init__ imports the whole back end (flask, torch, faiss,
    ...), so the client module is loaded from its file, unchanged, beside that __init__."""
    spec = importlib.util.find_spec("clip_retrieval")
    if spec is None:
        pytest.skip("clip-retrieval is not installed (tools/test.sh installs it with --no-deps)")
    path = Path(spec.submodule_search_locations[0]) / "clip_client.py"
    module_spec = importlib.util.spec_from_file_location("clip_retrieval_client", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def test_clip_retrievals_own_client_queries_the_library_by_text_image_and_embedding(served, demo_library):
    cr = clip_client_module()
    indices = httpx.get(f"{served}/indices-list").json()
    client = cr.ClipClient(url=f"{served}/knn-service", indice_name=indices[0], num_images=5)
    by_text = client.query(text="a red circle")
    assert len(by_text) == 5 and {"id", "similarity", "url", "caption"} <= set(by_text[0])
    first = Path(by_text[0]["image_path"])
    assert httpx.get(by_text[0]["url"]).content == first.read_bytes()  # the url is this library's file
    by_image = client.query(image=str(first))
    assert by_image[0]["id"] == by_text[0]["id"]
    vector = Searcher(demo_library.library).encoder.encode_texts(["a red circle"])[0].tolist()
    by_vector = client.query(embedding_input=vector)
    assert [r["id"] for r in by_vector] == [r["id"] for r in by_text]
    by_own_url = client.query(image=by_text[0]["url"])
    assert by_own_url[0]["id"] == by_text[0]["id"]


def test_clip_client_requests_pixseek_cannot_serve_get_a_clear_refusal(served):
    cr = clip_client_module()
    client = cr.ClipClient(url=f"{served}/knn-service", indice_name="laion5B")
    assert "no index 'laion5B'" in client.query(text="a red circle")["detail"]
    own = httpx.get(f"{served}/indices-list").json()[0]
    foreign = cr.ClipClient(url=f"{served}/knn-service", indice_name=own).query(image="http://example.com/cat.jpg")
    assert "one of this library's files" in foreign["detail"]
    body = {"text": "a red circle", "num_images": 40, "indice_name": own, "deduplicate": True}
    deduplicated = httpx.post(f"{served}/knn-service", content=json.dumps(body)).json()
    plain = httpx.post(f"{served}/knn-service", content=json.dumps({**body, "deduplicate": False})).json()
    assert len(deduplicated) < len(plain) == 40  # the demo's planted copies of red circles are dropped
    noted = httpx.post(f"{served}/knn-service", content=json.dumps({**body, "aesthetic_score": 9}))
    assert "aesthetic_score" in noted.headers["x-pixseek-note"]


def test_a_server_on_another_address_needs_a_token(tmp_path, demo_library):
    refused = CliRunner().invoke(app, ["serve", "-l", str(demo_library.library), "--host", "0.0.0.0"])
    assert refused.exit_code == 2 and "--token" in refused.stderr
    with serving(demo_library.library, "--token", "s3cret") as url:
        assert httpx.get(f"{url}/api/search", params={"q": "a red circle"}).status_code == 401
        assert httpx.get(f"{url}/indices-list", headers={"authorization": "Bearer wrong"}).status_code == 401
        ok = httpx.get(f"{url}/api/search", params={"q": "a red circle"}, headers={"authorization": "Bearer s3cret"})
        assert ok.status_code == 200 and httpx.get(f"{url}/api/health").status_code == 200
        remote = CliRunner().invoke(app, ["search", "a red circle", "--server", url, "--token", "s3cret", "--json"])
        assert remote.exit_code == 0 and json.loads(remote.stdout)


def test_searches_run_while_an_index_run_writes_and_then_see_the_new_images(tmp_path, micro_model):
    photos, library = tmp_path / "photos", tmp_path / "lib"
    photos.mkdir()
    for i in range(20):
        synthetic.write(synthetic.sample(i, 7), photos, i)
    index([photos], library, str(micro_model), IndexSettings(workers=0))
    failures, done = [], threading.Event()
    with serving(library) as url:

        def searching() -> None:
            while not done.is_set():
                response = httpx.get(f"{url}/api/search", params={"q": "a red circle", "k": 100}, timeout=60)
                failures.append(None) if response.status_code == 200 else failures.append(response.text)

        thread = threading.Thread(target=searching)
        thread.start()
        for i in range(20, 80):
            synthetic.write(synthetic.sample(i, 7), photos, i)
        command = ["index", str(photos), "-l", str(library), "-m", str(micro_model), "--batch-size", "4"]
        subprocess.run([sys.executable, "-m", "ui.cli", *command], cwd=ROOT, check=True, capture_output=True)
        done.set()
        thread.join()
        after = httpx.get(f"{url}/api/search", params={"q": "a red circle", "k": 100}).json()["hits"]
    assert [f for f in failures if f is not None] == [] and len(failures) >= 3
    assert len(after) == 80


def test_a_base64_image_that_is_not_base64_is_a_400(served):
    own = httpx.get(f"{served}/indices-list").json()[0]
    body = {"image": "%%%not-base64%%%", "indice_name": own}
    response = httpx.post(f"{served}/knn-service", content=json.dumps(body))
    assert response.status_code == 400 and "base64" in response.json()["detail"]
    good = base64.b64encode(b"plain text").decode()
    response = httpx.post(f"{served}/knn-service", content=json.dumps({**body, "image": good}))
    assert response.status_code == 400 and "not a recognised image format" in response.json()["detail"]


def test_a_link_inside_the_roots_to_a_file_outside_is_refused(tmp_path, micro_model):
    photos, outside = tmp_path / "photos", tmp_path / "outside.png"
    photos.mkdir()
    names = [synthetic.write(synthetic.sample(i, 3), photos, i)["file"] for i in range(2)]
    index([photos], tmp_path / "lib", str(micro_model), IndexSettings(workers=0))
    Image.new("RGB", (32, 32), "blue").save(outside)
    (photos / "link.png").symlink_to(outside)
    with serving(tmp_path / "lib") as url:
        response = httpx.post(f"{url}/api/search", json={"images": [str(photos / "link.png")]})
        inside = httpx.post(f"{url}/api/search", json={"images": [str(photos / names[0])], "k": 1})
    assert response.status_code == 403 and "not inside" in response.json()["detail"]
    assert inside.status_code == 200 and inside.json()["hits"][0]["path"] == str(photos / names[0])

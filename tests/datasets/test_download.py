"""The download-and-cache path against files served on loopback (no internet needed)."""

from __future__ import annotations

import functools
import hashlib
import http.server
import shutil
import threading
from pathlib import Path

import pytest
import torch

from xaibench.dataset import load_dataset
from xaibench.datasets import german
from xaibench.datasets._download import fetch, sha256_of
from xaibench.errors import ChecksumError, DatasetError

PAYLOAD = b"age,income\n39,<=50K\n50,>50K\n" * 1000
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    requests: list[str] = []

    def log_message(self, *args) -> None:
        QuietHandler.requests.append(self.path)

    def do_GET(self) -> None:
        if self.path != "/truncated":
            return super().do_GET()
        self.send_response(200)  # promises the whole payload, sends a tenth, hangs up
        self.send_header("Content-Length", str(len(PAYLOAD)))
        self.end_headers()
        self.wfile.write(PAYLOAD[: len(PAYLOAD) // 10])
        self.close_connection = True


@pytest.fixture
def served(tmp_path):
    """``(folder, base_url)``: files put in ``folder`` are served at ``base_url``."""
    root = tmp_path / "served"
    root.mkdir()
    handler = functools.partial(QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    QuietHandler.requests = []
    yield root, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def cache_files(cache: Path) -> list[str]:
    return sorted(str(p.relative_to(cache)) for p in cache.rglob("*") if p.is_file())


def test_download_verifies_and_caches(served, tmp_path):
    root, url = served
    (root / "table.csv").write_bytes(PAYLOAD)
    cache = tmp_path / "cache"
    path = fetch(url + "table.csv", "demo/table.csv", PAYLOAD_SHA, cache)
    assert path == cache / "demo" / "table.csv" and path.read_bytes() == PAYLOAD
    assert cache_files(cache) == ["demo/table.csv"]  # no temporary file left behind
    # the second call reads the verified cache and does not download again
    assert fetch(url + "table.csv", "demo/table.csv", PAYLOAD_SHA, cache) == path
    assert QuietHandler.requests == ["/table.csv"]


def test_corrupted_download_fails_clearly_and_leaves_nothing(served, tmp_path):
    root, url = served
    corrupted = PAYLOAD[:-10] + b"tampered!\n"
    (root / "table.csv").write_bytes(corrupted)
    cache = tmp_path / "cache"
    with pytest.raises(ChecksumError) as info:
        fetch(url + "table.csv", "demo/table.csv", PAYLOAD_SHA, cache)
    message = str(info.value)
    assert url + "table.csv" in message and PAYLOAD_SHA in message
    assert hashlib.sha256(corrupted).hexdigest() in message
    assert cache_files(cache) == []
    # once the server is fixed, the same call succeeds
    (root / "table.csv").write_bytes(PAYLOAD)
    assert fetch(url + "table.csv", "demo/table.csv", PAYLOAD_SHA, cache).read_bytes() == PAYLOAD


def test_corrupted_cached_file_is_detected_before_use(served, tmp_path):
    root, url = served
    (root / "table.csv").write_bytes(PAYLOAD)
    cached = tmp_path / "cache" / "demo" / "table.csv"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(PAYLOAD[:100])  # e.g. truncated by a copy that was interrupted
    with pytest.raises(ChecksumError, match="delete it") as info:
        fetch(url + "table.csv", "demo/table.csv", PAYLOAD_SHA, tmp_path / "cache")
    assert str(cached) in str(info.value) and PAYLOAD_SHA in str(info.value)
    assert cached.read_bytes() == PAYLOAD[:100] and QuietHandler.requests == []
    cached.unlink()  # what the message tells the user to do
    assert fetch(url + "table.csv", "demo/table.csv", PAYLOAD_SHA, tmp_path / "cache").read_bytes() == PAYLOAD


def test_missing_remote_file_is_a_dataset_error(served, tmp_path):
    _, url = served
    with pytest.raises(DatasetError, match="could not download") as info:
        fetch(url + "absent.csv", "demo/absent.csv", PAYLOAD_SHA, tmp_path / "cache")
    assert not isinstance(info.value, ChecksumError) and "XAIBENCH_DATA_DIR" in str(info.value)
    assert cache_files(tmp_path / "cache") == []


def test_interrupted_transfer_is_a_dataset_error_and_leaves_nothing(served, tmp_path):
    _, url = served
    with pytest.raises(DatasetError, match="could not download"):
        fetch(url + "truncated", "demo/table.csv", PAYLOAD_SHA, tmp_path / "cache")
    assert cache_files(tmp_path / "cache") == []


def test_dataset_loader_downloads_into_an_empty_cache(served, tmp_path, monkeypatch):
    """End to end: german is fetched from loopback into a fresh cache and equals the offline copy."""
    root, url = served
    shutil.copy(offline_copy("german/german.data"), root / "german.data")
    monkeypatch.setattr(german, "URL", url + "german.data")
    cache = tmp_path / "cache"
    fresh = german.load_german(cache)
    assert cache_files(cache) == ["german/german.data"]
    assert sha256_of(cache / "german" / "german.data") == german.SHA256
    offline = load_dataset("german")  # from XAIBENCH_DATA_DIR
    assert torch.equal(fresh.x_train, offline.x_train) and torch.equal(fresh.y_test, offline.y_test)


def offline_copy(relative: str) -> Path:
    from xaibench.dataset import data_dir

    path = data_dir() / relative
    if not path.exists():
        pytest.skip(f"offline copy {path} not available")
    return path

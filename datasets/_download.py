"""Download-and-cache with SHA-256 verification (standard library only).

:func:`fetch` returns the path of a verified file in the data cache
(:func:`xaibench.dataset.data_dir`, ``$XAIBENCH_DATA_DIR``), downloading it first when absent:

1. A file already in the cache is hashed before every use; a mismatch raises
   :class:`~xaibench.errors.ChecksumError` and the file is left alone (it may be a user's own
   copy in a read-only folder; the message says to delete it so that it is fetched again).
2. A download streams into a hidden temporary file **in the destination folder**, hashing as it
   goes; only a file with the expected SHA-256 is renamed into place (``os.replace``, atomic on
   one file system), so an interrupted or corrupted download never leaves a file under the final
   name. A transfer shorter than its announced ``Content-Length`` is reported as interrupted
   (before the hash is compared). On any failure the temporary file is removed, and the error is
   a :class:`~xaibench.errors.DatasetError` (``ChecksumError`` for a hash mismatch) naming the
   URL, the destination and what to do.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from xaibench.errors import ChecksumError, DatasetError

CHUNK = 1 << 20
TIMEOUT_S = 60.0


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(url: str, relative_path: str, sha256: str, directory: Path) -> Path:
    """The verified file ``directory / relative_path``, downloaded from ``url`` if absent."""
    target = Path(directory) / relative_path
    if target.exists():
        actual = sha256_of(target)
        if actual != sha256:
            raise ChecksumError(
                f"cached file {target} has SHA-256 {actual}, expected {sha256} (source {url}). "
                f"The file is corrupted or is another version: delete it and load the dataset again "
                f"to download a fresh copy."
            )
        return target
    _download(url, target, sha256)
    return target


def _download(url: str, target: Path, sha256: str) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    except OSError as exc:
        raise DatasetError(
            f"cannot write to the data cache {target.parent} ({exc}). Set XAIBENCH_DATA_DIR to a writable "
            f"folder, or place the file from {url} at {target} yourself."
        ) from exc
    temp = Path(temp_name)
    try:
        digest, received = hashlib.sha256(), 0
        with os.fdopen(handle, "wb") as out, urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            announced = response.headers.get("Content-Length")
            for block in iter(lambda: response.read(CHUNK), b""):
                digest.update(block)
                out.write(block)
                received += len(block)
        if announced is not None and received != int(announced):
            raise DatasetError(
                f"could not download {url}: the transfer stopped after {received} of {announced} bytes; "
                f"nothing was saved to {target}. Try again."
            )
        actual = digest.hexdigest()
        if actual != sha256:
            raise ChecksumError(
                f"download of {url} has SHA-256 {actual}, expected {sha256}; nothing was saved to {target}. "
                f"The transfer was corrupted or the file changed upstream: try again, or place a verified "
                f"copy at {target}."
            )
        os.chmod(temp, 0o644)  # mkstemp creates 0600; a cache file is readable like any download
        os.replace(temp, target)
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:  # URLError: DNS, refused, 404
        raise DatasetError(
            f"could not download {url} to {target}: {exc}. Check your connection, or download the file "
            f"yourself and place it at {target} (or point XAIBENCH_DATA_DIR at a folder holding it)."
        ) from exc
    finally:
        temp.unlink(missing_ok=True)

"""tinyshakespeare from the offline copy: hash, sizes, the split by position, windows that are the text."""

from __future__ import annotations

import pytest
import torch

from xaibench.dataset import data_dir, load_dataset
from xaibench.datasets import tinyshakespeare
from xaibench.datasets._text import char_text_dataset, encode, split_by_position, windows


@pytest.fixture(scope="module")
def ds():
    return load_dataset("tinyshakespeare")


def test_hard_coded_hash_matches_the_published_sum():
    sums = data_dir() / "SHA256SUMS"
    if not sums.exists():
        pytest.skip(f"{sums} not available")
    published = dict(reversed(line.split()) for line in sums.read_text().splitlines() if line.strip())
    assert published["tinyshakespeare/input.txt"] == tinyshakespeare.SHA256


def test_sizes_alphabet_and_split_by_position(ds):
    parts = ds.meta["text"]
    assert sum(len(p) for p in parts.values()) == 1_115_394
    assert (len(parts["train"]), len(parts["validation"]), len(parts["test"])) == (1_003_854, 55_769, 55_771)
    original = (data_dir() / "tinyshakespeare" / "input.txt").read_text()
    assert parts["train"] + parts["validation"] + parts["test"] == original  # consecutive, nothing dropped or moved
    assert parts["train"].startswith("First Citizen:\nBefore we proceed")
    assert len(ds.meta["alphabet"]) == ds.n_classes == 65 and ds.meta["alphabet"][0] == "\n"
    assert ds.kind == "text" and ds.meta["context"] == 64


def test_windows_are_the_text_and_their_next_character(ds):
    alphabet = ds.meta["alphabet"]
    assert ds.x_train.shape == (15_685, 64) and ds.x_test.shape == (871, 64)
    assert ds.x_train.dtype == ds.y_train.dtype == torch.long
    decode = lambda ids: "".join(alphabet[i] for i in ids.tolist())  # noqa: E731
    train = ds.meta["text"]["train"]
    for i in (0, 1, 7_000, 15_684):  # training windows in text order, stride 64
        assert decode(ds.x_train[i]) + alphabet[ds.y_train[i]] == train[64 * i : 64 * i + 65]
    test = ds.meta["text"]["test"]
    for i in range(5):  # test windows in a seeded random order; each is at a multiple of 64 in the test text
        window = decode(ds.x_test[i]) + alphabet[ds.y_test[i]]
        assert any(test[s : s + 65] == window for s in range(0, len(test) - 64, 64))
    assert len(set(map(tuple, ds.x_test.tolist()))) == 871


def test_encode_windows_and_split_by_hand():
    assert encode("abca", "abc").tolist() == [0, 1, 2, 0]
    with pytest.raises(ValueError, match="outside the alphabet"):
        encode("abd", "abc")
    x, y = windows(torch.arange(10), 3)  # windows [0,1,2] [3,4,5] [6,7,8] and the following ids 3, 6, 9
    assert x.tolist() == [[0, 1, 2], [3, 4, 5], [6, 7, 8]] and y.tolist() == [3, 6, 9]
    assert split_by_position("abcdefghij", (0.6, 0.2, 0.2)) == {"train": "abcdef", "validation": "gh", "test": "ij"}
    tiny = char_text_dataset("tiny", "0", "abcabcabcabcabcabcabcabcabcab", context=2, fractions=(0.5, 0.2, 0.3),
                             description="")
    assert tiny.meta["alphabet"] == "abc" and tiny.x_train.tolist()[:2] == [[0, 1], [2, 0]]
    assert tiny.y_train.tolist()[:2] == [2, 1]

"""Tiny Shakespeare (Karpathy 2015, assembled for char-rnn): about 40,000 lines of Shakespeare's plays.

Source: ``input.txt`` (1,115,394 bytes of ASCII, 65 distinct characters), downloaded from the
char-rnn repository into ``<data_dir>/tinyshakespeare/`` and verified by SHA-256
(:mod:`._download`), like ``adult``. The plays are in the public domain.

Preprocessing (version ``1``, :mod:`._text`): the vocabulary is the 65 characters of the text
(sorted; id 0 is the newline); the text is split **by position** into train (the first 90 %:
1,003,854 characters), validation (the next 5 %: 55,769) and test (the last 55,771); windows of
64 characters at stride 64 with the character that follows (15,685 train, 871 test windows; the
test windows in a seeded random order). Data kind ``"text"``: language models read the windows,
the raw splits (``meta["text"]``) and the alphabet (``meta["alphabet"]``).
"""

from __future__ import annotations

from pathlib import Path

from xaibench.dataset import Dataset, register_dataset

from ._download import fetch
from ._text import char_text_dataset

VERSION = "1"
URL = "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"
CONTEXT = 64
FRACTIONS = (0.9, 0.05, 0.05)
DESCRIPTION = "Tiny Shakespeare (downloaded): 1,115,394 characters, 65 symbols, split by position 90/5/5, 64-char windows"


@register_dataset("tinyshakespeare", kind="text", description=DESCRIPTION)
def load_tinyshakespeare(data_dir: Path) -> Dataset:
    path = fetch(URL, "tinyshakespeare/input.txt", SHA256, data_dir)
    text = path.read_text(encoding="ascii")
    return char_text_dataset("tinyshakespeare", VERSION, text, context=CONTEXT, fractions=FRACTIONS,
                             description=DESCRIPTION, meta={"source": URL})

"""The small real dataset the demo and the examples run on.

``hh-rlhf-harmless-base-test.jsonl.gz``: the 2,312 pairs of Anthropic's HH-RLHF
harmless-base test split (MIT licence, see ``hh-rlhf-LICENSE``). Each row holds the
whole transcript in ``chosen`` and ``rejected``; the prompt is their shared prefix.
:func:`sample_tokenizer` trains a small byte-level BPE on it, so the examples that
tokenize need no download.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import pyarrow as pa
import pyarrow.json as pa_json

HH_RLHF = "hh-rlhf-harmless-base-test.jsonl.gz"


def load_hh_rlhf() -> pa.Table:
    """The embedded HH-RLHF sample as a table with ``chosen`` and ``rejected`` columns.

    >>> load_hh_rlhf().num_rows
    2312
    """
    with resources.as_file(resources.files(__package__).joinpath(HH_RLHF)) as path:
        return pa_json.read_json(pa.input_stream(str(path), compression="gzip"))


def sample_tokenizer(vocab_size: int = 2000) -> Any:
    """A byte-level BPE (``tokenizers.Tokenizer``) trained on the sample's transcripts,
    with ``<pad>`` = 0, ``<eos>`` = 1 and ``<unk>`` = 2: a real tokenizer for examples
    and tests, made offline in about a second. Needs ``prefcore[tokenize]``.

    >>> tok = sample_tokenizer()
    >>> tok.get_vocab_size(), tok.token_to_id("<eos>")
    (2000, 1)
    """
    from prefcore._check import positive
    from prefcore._optional import require

    vocab_size = positive("vocab_size", vocab_size)
    tokenizers = require("tokenizers", "sample_tokenizer")
    tok = tokenizers.Tokenizer(tokenizers.models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = tokenizers.decoders.ByteLevel()
    trainer = tokenizers.trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=["<pad>", "<eos>", "<unk>"], show_progress=False
    )
    data = load_hh_rlhf()
    tok.train_from_iterator(
        data.column("chosen").to_pylist() + data.column("rejected").to_pylist(), trainer
    )
    return tok

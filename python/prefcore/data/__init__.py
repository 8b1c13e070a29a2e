"""The small real dataset the demo and the examples run on.

``hh-rlhf-harmless-base-test.jsonl.gz``: the 2,312 pairs of Anthropic's HH-RLHF
harmless-base test split (MIT licence, see ``hh-rlhf-LICENSE``). Each row holds the
whole transcript in ``chosen`` and ``rejected``; the prompt is their shared prefix.
"""

from __future__ import annotations

from importlib import resources

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

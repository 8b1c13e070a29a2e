"""`prefcore demo`: what prefcore does, on real preference data shipped in the package."""

from __future__ import annotations

import time

import numpy as np
import pyarrow as pa

from prefcore import dedup, formats, metrics, pairs, report, unpaired
from prefcore.data import load_hh_rlhf

__all__ = [
    "run",
]

ASSISTANT = "\n\nAssistant:"


def last_response(transcript: str) -> str:
    """The final assistant turn of an HH-style transcript.

    >>> last_response("\\n\\nHuman: hi\\n\\nAssistant: hello\\n\\nHuman: bye\\n\\nAssistant: ciao")
    'ciao'
    """
    return transcript.rsplit(ASSISTANT, 1)[-1].strip()


def _section(title: str) -> None:
    print(f"\n== {title}")


def run() -> None:
    """Load the embedded HH-RLHF pairs and print every metric prefcore has on them.

    Run it as ``prefcore demo`` (or ``make demo`` from a fresh checkout).

    >>> run()  # doctest: +ELLIPSIS
    prefcore demo on the embedded HH-RLHF harmless-base test split (2312 pairs)
    ...
    """
    t0 = time.perf_counter()
    table = load_hh_rlhf()
    chosen = [last_response(t) for t in table.column("chosen").to_pylist()]
    rejected = [last_response(t) for t in table.column("rejected").to_pylist()]
    n = table.num_rows
    print(f"prefcore demo on the embedded HH-RLHF harmless-base test split ({n} pairs)")
    turns = [t.count(ASSISTANT) for t in table.column("chosen").to_pylist()]
    len_c = np.array([len(s) for s in chosen], dtype=np.float64)
    len_r = np.array([len(s) for s in rejected], dtype=np.float64)
    print(
        f"  columns: {', '.join(table.column_names)}; assistant turns per transcript: "
        f"median {int(np.median(turns))}, max {max(turns)}"
    )
    print(
        f"  final response length (chars): chosen median {np.median(len_c):.0f}, "
        f"rejected median {np.median(len_r):.0f}"
    )
    identical = sum(c == r for c, r in zip(chosen, rejected))
    print(f"  pairs whose final responses are identical: {identical}")

    _section("Prompt extraction (shared prefix cut at the last '\\n\\nAssistant:')")
    split = formats.extract_prompt(table)
    print(
        f"  clean splits: {split.stats['clean']} of {split.stats['rows']}; rows without one: "
        f"{split.stats['by_reason'] or 'none'}"
    )
    data = split.clean()
    messages = formats.parse_transcript(data.column("prompt").combine_chunks())
    print(f"  prompt turns (parsed to messages): max {max(len(m) for m in messages.to_pylist())}")

    _section("Health report")
    health = report.stats(data)
    print(
        f"  {health['rows']} pairs over {health['prompts']} distinct prompts; chosen longer "
        f"than rejected in {health['chosen_longer_rate']:.1%}; ties {health['tie_rate']:.1%} "
        f"({health['tie_rule']}); repeated rows {health['duplicate_rate']:.1%}"
    )
    for col in ("prompt", "chosen", "rejected"):
        d = health[f"{col}_chars"]
        print(f"  {col:8s} chars: median {d['p50']:.0f}, p90 {d['p90']:.0f}, max {d['max']:.0f}")

    _section("Pairs from a scored variant (two responses per prompt, score = -length/100)")
    completions = pa.array([[c, r] for c, r in zip(chosen, rejected)])
    scored = pa.table(
        {
            "prompt": data.column("prompt"),
            "completions": completions,
            "scores": pa.array([[-len(c) / 100, -len(r) / 100] for c, r in zip(chosen, rejected)]),
        }
    )
    built = pairs.from_scores(scored, strategy="best_worst", min_margin=0.5)
    agree = built.table.filter(pa.compute.equal(built.table.column("chosen_index"), 0)).num_rows
    print(
        f"  best_worst with min_margin 0.5: {built.stats['pairs']} pairs "
        f"({built.stats['prompts_without_eligible_pair']} prompts below the margin); "
        f"{agree} agree with the human choice"
    )
    kto = unpaired.unpair(data)
    print(
        f"  unpaired (KTO) rows: {kto.stats['rows']}, desirable share "
        f"{kto.stats['desirable_share']:.2f}"
    )

    _section("Dedup (after NFKC + lowercase + whitespace normalisation)")
    pairs_table = data
    for what, columns in (("prompts", ["prompt"]), ("pairs", ["prompt", "chosen", "rejected"])):
        found = dedup.exact(pairs_table, columns)
        print(
            f"  repeated {what:7s}: {found.stats['removed']} duplicate rows, "
            f"{found.stats['clusters']} distinct"
        )
    near = dedup.minhash(pairs_table, "prompt", threshold=0.8, verify=True)
    print(
        f"  near-duplicate prompts (MinHash-LSH, Jaccard >= 0.8 verified): "
        f"{near.stats['removed']} rows, {near.stats['candidate_pairs']} candidate pairs, "
        f"bands x rows = {near.stats['bands']} x {near.stats['rows_per_band']}"
    )
    degenerate = dedup.degenerate_pairs(pairs_table)
    print(f"  degenerate pairs: {degenerate.stats['removed']} {degenerate.stats['by_reason']}")

    _section("Reward-model accuracy of a length scorer (RewardBench rule: chosen > rejected)")
    for name, sign in (("longer is better", 1.0), ("shorter is better", -1.0)):
        acc = metrics.pairwise_accuracy(sign * len_c, sign * len_r)
        print(f"  {name:18s} accuracy {acc.accuracy:.4f} over {acc.count} pairs ({acc.ties} ties)")
    turns_arr = np.array(turns)
    subsets = np.where(turns_arr > 1, "multi-turn", "single-turn").tolist()
    acc = metrics.pairwise_accuracy(
        -len_c,
        -len_r,
        subsets=subsets,
        ties="half",
        weights={"single-turn": 1.0, "multi-turn": 1.0},
    )
    assert acc.by_subset is not None
    for row in acc.by_subset.to_pylist():
        print(f"  shorter, {row['subset']:11s}: {row['accuracy']:.4f} over {row['count']} pairs")
    print(f"  shorter, macro over subsets: {acc.weighted:.4f}")

    _section("Calibration of sigmoid((len_chosen - len_rejected) / 100)")
    cal = metrics.calibration(len_c, len_r, n_bins=10, scale=0.01)
    print(f"  ECE {cal.ece:.4f}  MCE {cal.mce:.4f}  Brier {cal.brier:.4f}")

    _section("Ranking metrics: each prompt ranks its two responses (label 1 = chosen)")
    scores = np.stack([-len_c, -len_r], axis=1)
    labels = np.tile(np.array([1, 0]), (n, 1))
    grouped = metrics.evaluate_grouped(scores, labels, ["ndcg", "mrr", "hit_rate@1"])
    print("  " + "  ".join(f"{k} {v:.4f}" for k, v in grouped.items()))
    averaged = metrics.evaluate_grouped(scores, labels, ["ndcg", "precision@1"], ties="average")
    print("  ties averaged: " + "  ".join(f"{k} {v:.4f}" for k, v in averaged.items()))

    _section("The same as TREC tables (run + qrels), trec_eval semantics")
    qids = np.repeat(np.arange(n), 2).astype(str)
    docs = np.tile(np.array(["chosen", "rejected"]), n)
    run_table = pa.table({"query_id": qids, "doc_id": docs, "score": scores.reshape(-1)})
    qrels = pa.table({"query_id": qids, "doc_id": docs, "relevance": labels.reshape(-1)})
    trec = metrics.evaluate(run_table, qrels, ["map", "ndcg_cut.1", "P.1", "bpref"])
    print("  " + "  ".join(f"{k} {v:.4f}" for k, v in trec.items()))

    _section("Is 'shorter' better than 'longer' per prompt? (paired randomization test)")
    per_short = metrics.evaluate(run_table, qrels, "recip_rank", per_query=True)
    long_run = run_table.set_column(2, "score", pa.array(-scores.reshape(-1)))
    per_long = metrics.evaluate(long_run, qrels, "recip_rank", per_query=True)
    cmp = metrics.compare(per_short, per_long, test="randomization", n_resamples=5000, seed=0)
    print(
        f"  MRR shorter {cmp.mean_a:.4f} vs longer {cmp.mean_b:.4f}: difference "
        f"{cmp.difference:+.4f}, p = {cmp.p_value:.4g}, effect size {cmp.effect_size:.3f}"
    )
    tau = metrics.kendall_tau(
        np.concatenate([len_c, len_r]), np.concatenate([np.ones(n), np.zeros(n)])
    )
    print(f"  Kendall tau-b between response length and preference: {tau.mean:+.4f}")
    _batches(data)
    print(f"\ndone in {time.perf_counter() - t0:.2f} s")


def _batches(data: pa.Table) -> None:
    """Tokenize the clean pairs with a BPE trained on them, collate a few batches."""
    _section("Training batches (a 2,000-token BPE trained on the sample; max_length 512)")
    try:
        import tokenizers  # noqa: F401
    except ImportError:
        print("  (install `tokenizers` to see this section)")
        return
    from prefcore.data import sample_tokenizer
    from prefcore.tokenize import tokenize_pairs
    from prefcore.torch import (
        FixedBatchSampler,
        PreferenceCollator,
        PreferenceDataset,
        TokenBudgetSampler,
    )

    tok = sample_tokenizer()
    out = tokenize_pairs(data, tok, eos_token_id=1, max_length=512, truncation="keep_end")
    st = out.stats
    print(
        f"  tokens: prompts {st['prompt_tokens']:,}, chosen {st['chosen_tokens']:,}, rejected "
        f"{st['rejected_tokens']:,}; truncated rows: prompt {st['truncated_prompt']}, chosen "
        f"{st['truncated_chosen']}, rejected {st['truncated_rejected']} (EOS kept on every one)"
    )
    dataset = PreferenceDataset(out)
    lengths = dataset.lengths()
    budget = int(16 * lengths.mean())
    collate = PreferenceCollator(0, return_tensors="np")
    for name, sampler in [
        ("16 random pairs per batch", FixedBatchSampler(len(dataset), 16, seed=0)),
        (f"TokenBudgetSampler({budget} tokens)", TokenBudgetSampler(lengths, budget, seed=0)),
    ]:
        batches = sampler.batches()
        pad = real = 0
        for rows in batches:
            mask = collate(dataset.__getitems__(rows))["attention_mask"]
            real, pad = real + int(mask.sum()), pad + int(mask.size - mask.sum())
        first = collate(dataset.__getitems__(batches[0]))["input_ids"].shape
        print(
            f"  {name:<34} {len(batches):>4} batches, first {first[0]}x{first[1]}, "
            f"padding {pad / (pad + real):.1%}"
        )

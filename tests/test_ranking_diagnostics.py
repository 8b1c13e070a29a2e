"""Ranking-accuracy diagnostics against a plain-Python reference on generated
log-probs (Chen et al., arXiv 2405.19534)."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prefcore import errors
from prefcore.metrics import compare, ranking_diagnostics

logp = st.floats(-200, -0.01, allow_nan=False)


def reference(c, r, ct, rt, cr, rr, beta, alpha):
    n = len(c)
    R = sum(c[i] > r[i] for i in range(n)) / n
    Rn = sum(c[i] / ct[i] > r[i] / rt[i] for i in range(n)) / n
    ideal = []
    for i in range(n):
        votes = math.inf if alpha[i] == 1 else math.log(alpha[i] / (1 - alpha[i]))
        ideal.append((cr[i] - rr[i]) + votes / beta > 0)
    margins = [beta * ((c[i] - cr[i]) - (r[i] - rr[i])) for i in range(n)]
    flip_loss = [-math.log(1 / (1 + math.exp(-beta * (rr[i] - cr[i])))) for i in range(n)]
    return {
        "R": R,
        "Rn": Rn,
        "R*": sum(ideal) / n,
        "implicit": sum(m > 0 for m in margins) / n,
        "margin": sum(margins) / n,
        "flip_loss": flip_loss,
    }


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            logp,
            logp,
            st.integers(1, 50),
            st.integers(1, 50),
            logp,
            logp,
            st.sampled_from([0.5, 0.6, 0.75, 0.9, 1.0]),
        ),
        min_size=1,
        max_size=40,
    ),
    beta=st.sampled_from([0.01, 0.1, 0.5, 2.0]),
)
def test_equal_to_a_plain_python_reference(rows, beta) -> None:
    c, r, ct, rt, cr, rr, alpha = (list(x) for x in zip(*rows))
    want = reference(c, r, ct, rt, cr, rr, beta, alpha)
    d = ranking_diagnostics(
        c,
        r,
        chosen_tokens=ct,
        rejected_tokens=rt,
        ref_chosen_logps=cr,
        ref_rejected_logps=rr,
        beta=beta,
        alpha=alpha,
    )
    assert d.pairs == len(rows)
    assert d.ranking_accuracy == pytest.approx(want["R"])
    assert d.length_normalised_accuracy == pytest.approx(want["Rn"])
    assert d.idealised_accuracy == pytest.approx(want["R*"])
    assert d.alignment_gap == pytest.approx(want["R*"] - want["R"])
    assert d.implicit_reward_accuracy == pytest.approx(want["implicit"])
    assert d.mean_implicit_margin == pytest.approx(want["margin"], abs=1e-9)
    assert d.idealised_accuracy_unanimous == 1.0
    assert d.per_pair.column("flip_loss").to_pylist() == pytest.approx(want["flip_loss"], rel=1e-9)


def test_subsets_and_a_paired_comparison_of_two_checkpoints() -> None:
    rng = random.Random(0)
    n = 400
    subset = [rng.choice(["chat", "safety"]) for _ in range(n)]
    ref_c = [rng.uniform(-80, -20) for _ in range(n)]
    ref_r = [x + rng.uniform(-5, 5) for x in ref_c]
    early = ranking_diagnostics(
        [x + rng.gauss(0, 1) for x in ref_c],
        ref_r,
        ref_chosen_logps=ref_c,
        ref_rejected_logps=ref_r,
        beta=0.1,
        subset=subset,
    )
    late = ranking_diagnostics(
        [x + 3 for x in ref_c],
        ref_r,
        ref_chosen_logps=ref_c,
        ref_rejected_logps=ref_r,
        beta=0.1,
        subset=subset,
    )
    for name, part in late.by_subset.items():
        rows = [i for i in range(n) if subset[i] == name]
        assert part.pairs == len(rows)
        assert part.ranking_accuracy == pytest.approx(
            sum(ref_c[i] + 3 > ref_r[i] for i in rows) / len(rows)
        )
    result = compare(
        late.per_pair.column("correct").to_numpy(zero_copy_only=False).astype(float),
        early.per_pair.column("correct").to_numpy(zero_copy_only=False).astype(float),
        test="randomization",
    )
    assert result.difference == pytest.approx(late.ranking_accuracy - early.ranking_accuracy)
    assert result.p_value < 0.01


def test_bad_inputs_are_named() -> None:
    with pytest.raises(ValueError, match="rejected_logps has 1 values"):
        ranking_diagnostics([-1.0, -2.0], [-1.0])
    with pytest.raises(errors.InvalidValueError, match=r"'alpha', row 1: 0.0 is not in \(0, 1\]"):
        ranking_diagnostics(
            [-1.0, -2.0],
            [-1.5, -2.5],
            ref_chosen_logps=[-1, -1],
            ref_rejected_logps=[-1, -1],
            beta=0.1,
            alpha=[0.7, 0.0],
        )
    with pytest.raises(ValueError, match="alpha needs beta"):
        ranking_diagnostics([-1.0], [-2.0], alpha=0.7)
    with pytest.raises(errors.InvalidValueError, match=r"'chosen_logps', row 0: nan"):
        ranking_diagnostics([float("nan")], [-2.0])

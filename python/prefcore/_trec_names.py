"""trec_eval's measure names: ``-m`` arguments expanded to the metric names
:func:`prefcore.metrics.evaluate_trec` takes, and values printed as trec_eval prints
them."""

from __future__ import annotations

__all__ = ["trec_line", "trec_measures"]

#: trec_eval's default cutoffs of the measures that take them.
_TREC_CUTOFFS = {
    "P": (5, 10, 15, 20, 30, 100, 200, 500, 1000),
    "recall": (5, 10, 15, 20, 30, 100, 200, 500, 1000),
    "ndcg_cut": (5, 10, 15, 20, 30, 100, 200, 500, 1000),
    "map_cut": (5, 10, 15, 20, 30, 100, 200, 500, 1000),
    "success": (1, 5, 10),
}
#: The trec_eval measures prefcore computes, as ``-m all_trec`` lists them.
_ALL_TREC = ("num_ret", "num_rel", "num_rel_ret", "map", "gm_map", "Rprec", "bpref",
             "recip_rank", "iprec_at_recall", "P", "recall", "infAP", "ndcg", "ndcg_cut", "map_cut",
             "success")  # fmt: skip
#: trec_eval's recall levels of ``iprec_at_recall``.
_RECALL_LEVELS = tuple(f"iprec_at_recall_{i / 10:.2f}" for i in range(11))


def trec_measures(names: list[str]) -> list[str]:
    """trec_eval's ``-m`` arguments as metric names, in order, each once: ``P`` (and
    ``recall``, ``ndcg_cut``, ``map_cut``, ``success``) at trec_eval's default cutoffs,
    ``P.5,10`` as ``P.5`` and ``P.10``, ``all_trec`` as every measure prefcore has.

    >>> trec_measures(["map", "P.5,10", "success", "map"])
    ['map', 'P.5', 'P.10', 'success.1', 'success.5', 'success.10']
    """
    out: list[str] = []
    for name in names:
        if name == "all_trec":
            expanded = trec_measures(list(_ALL_TREC))
        elif name == "iprec_at_recall":
            expanded = list(_RECALL_LEVELS)
        elif name in _TREC_CUTOFFS:
            expanded = [f"{name}.{k}" for k in _TREC_CUTOFFS[name]]
        elif "," in name and "." in name:
            base, cutoffs = name.split(".", 1)
            expanded = [f"{base}.{k}" for k in cutoffs.split(",")]
        else:
            expanded = [name]
        out += [m for m in expanded if m not in out]
    return out


#: Measures trec_eval prints as integers.
_COUNTS = ("num_ret", "num_rel", "num_rel_ret")


def trec_line(metric: str, query: str, value: float) -> str:
    """One line as trec_eval prints it: the measure under trec_eval's name (``P_5``
    for ``P.5`` or ``P@5``) padded to 22 characters, the query, and the value with
    four decimals (counts as integers).

    >>> trec_line("P.5", "all", 0.26666)
    'P_5                   \\tall\\t0.2667'
    """
    base, _, cutoff = metric.replace("@", ".").partition(".")
    name = f"{base}_{cutoff}" if cutoff else base
    if metric.startswith("iprec_at_recall"):  # the level is a decimal: _0.50
        level = float(metric[len("iprec_at_recall") :].lstrip("_@."))
        name = f"iprec_at_recall_{level:.2f}"
    shown = f"{int(value)}" if base in _COUNTS else f"{value:.4f}"
    return f"{name:<22}\t{query}\t{shown}"

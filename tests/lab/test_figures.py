"""Lab-independent helpers the labs share: block builders (figures), attention-head scores, per-feature
statistics of toy models. Fast: synthetic inputs, no training."""

from __future__ import annotations

import pytest

from mi_prep.lab.api import LinePlot, Table
from mi_prep.lab.figures import curves_plot, grid_table, loss_plot, xy_plot


def test_grid_table_rounds_values_and_appends_extra_columns():
    t = grid_table(
        "T", "S", ["0", "0.9"], ["f0", "f1"], [[1.23456, 0.0], [0.5, 2.0]], extra_columns=["n"], extra=[[1], [2]]
    )
    assert isinstance(t, Table)
    assert t.columns == ["S", "f0", "f1", "n"]
    assert t.rows == [["0", 1.235, 0.0, 1], ["0.9", 0.5, 2.0, 2]]
    assert grid_table("T", "h", ["a"], ["x"], [[0.123456]], ndigits=2).rows == [["a", 0.12]]
    with pytest.raises(ValueError):
        grid_table("T", "h", ["a", "b"], ["x"], [[1.0]])


def test_plots_keep_names_and_points():
    p = curves_plot("C", ["a", "b"], [0.0, 1.0], [[1.0, 2.0], [3.0, 4.0]], xlabel="x", ylabel="y")
    assert isinstance(p, LinePlot) and [s.name for s in p.series] == ["a", "b"]
    assert p.series[1].x == [0.0, 1.0] and p.series[1].y == [3.0, 4.0] and p.xlabel == "x"
    q = xy_plot("P", {"a": [(0.0, 1.0), (25.0, 0.5)]}, xlabel="step")
    assert q.series[0].x == [0.0, 25.0] and q.series[0].y == [1.0, 0.5]
    lp = loss_plot("L", [3.0, 2.0, 1.0], log_every=10, caption="c")
    assert lp.series[0].name == "loss" and lp.series[0].x == [0.0, 10.0, 20.0] and lp.caption == "c"
    assert (lp.xlabel, lp.ylabel) == ("step", "cross-entropy")


def test_head_scores_on_ideal_patterns(torch):
    from mi_prep.lab.attention_heads import head_name, head_scores

    # period-3 repeats after BOS: head 0 attends to the previous position, head 1 to the induction target
    tokens = torch.tensor([[0, 5, 6, 7, 5, 6, 7, 5]])
    t = tokens.shape[1]
    pat = torch.zeros(1, 2, t, t)
    for q in range(t):
        pat[0, 0, q, max(q - 1, 0)] = 1.0
        pat[0, 1, q, q - 2 if q >= 4 else 0] = 1.0
    prev, ind = head_scores({0: pat}, tokens)
    assert prev[0][0] == pytest.approx(1.0) and prev[0][1] < 0.5
    assert ind[0][1] == pytest.approx(1.0) and ind[0][0] == pytest.approx(0.0)
    assert head_name(1, 2) == "L1H2"


def test_feature_stats_of_known_weights(torch):
    from mi_prep.lab.toy_models import feature_stats

    W = torch.tensor([[[1.0, -1.0, 0.0], [0.0, 0.0, 1.0]]])  # f0/f1 antipodal, f2 on its own axis
    s = feature_stats(W)
    assert s.norms.tolist() == [[1.0, 1.0, 1.0]]
    assert s.dimensionality[0].tolist() == pytest.approx([0.5, 0.5, 1.0])
    assert s.superposition[0].tolist() == pytest.approx([1.0, 1.0, 0.0])
    assert s.angles[0].tolist() == pytest.approx([0.0, 180.0, 90.0])
    assert s.gram[0, 0, 1] == pytest.approx(-1.0)
    assert feature_stats(torch.ones(1, 3, 2)).angles is None

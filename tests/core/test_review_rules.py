"""The rules Review (TUI), `mi-prep review` and Browse share: choice picks, key-point suggestions,
due texts, the browse filter and sort order."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from mi_prep.core.browse import BrowseFilter, schedule_cells, sort_items, state_label
from mi_prep.core.deck import load_decks
from mi_prep.core.due_text import due_cell, lab_due_text, next_review_in, until
from mi_prep.core.review_grading import (
    choice_suggestion,
    coverage_suggestion,
    is_choice,
    key_point_coverage,
    picked_option,
    takes_typed_answer,
)
from mi_prep.core.scheduling import CardState, Rating
from mi_prep.core.session import items_for

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
DECK = """\
id: d
name: Deck
tags: [circuits]
cards:
  - id: pick
    type: choice
    front: Which circuit decides where a head attends?
    options:
      - text: OV
      - text: QK
        correct: true
      - text: unembedding
  - id: why
    type: explain
    front: Explain an induction head.
    back: A previous-token head and K-composition.
    key_points:
      - text: a previous-token head
        terms: [previous-token]
      - text: K-composition
        terms: [k-composition]
      - text: OV copies the token
        terms: [copies]
  - id: plain
    type: reverse
    front: zebra
    back: stripes
    tags: [animals]
"""


def items(tmp_path):
    (tmp_path / "d.yaml").write_text(DECK)
    return {i.item_id: i for i in items_for(load_decks(tmp_path))}


def test_choice_pick_by_shown_number_and_suggestion(tmp_path):
    it = items(tmp_path)
    pick = it["pick"]
    assert is_choice(pick) and not takes_typed_answer(pick)
    order = [2, 1, 0]
    assert picked_option(order, "2") == 1 and picked_option(order, " 3 ") == 0
    assert picked_option(order, "4") is None and picked_option(order, "0") is None and picked_option(order, "") is None
    assert choice_suggestion(pick, 1) == Rating.GOOD
    assert choice_suggestion(pick, 0) == Rating.AGAIN and choice_suggestion(pick, None) == Rating.AGAIN


def test_explain_coverage_and_suggestion(tmp_path):
    it = items(tmp_path)
    why = it["why"]
    assert takes_typed_answer(why) and not takes_typed_answer(it["plain#rev"])
    assert key_point_coverage(why, "It relies on a previous-token head in an earlier layer.") == [True, False, False]
    assert coverage_suggestion([True, True]) == Rating.EASY
    assert coverage_suggestion([True, False]) == Rating.HARD
    assert coverage_suggestion([False, False]) == Rating.AGAIN
    assert coverage_suggestion([]) == Rating.AGAIN  # a card without key points never divides by zero


def test_due_texts():
    state = CardState("x", phase="review", due=NOW + timedelta(days=3))
    assert until(None, NOW) == "-" and until(NOW + timedelta(days=3), NOW) == "3d"
    assert next_review_in(state, NOW) == "3d" and next_review_in(replace(state, due=None), NOW) == "-"
    assert lab_due_text(state, NOW) == "in 3d" and lab_due_text(state, NOW + timedelta(days=4)) == "due"
    assert lab_due_text(None, NOW) == "-" and lab_due_text(replace(state, suspended=True), NOW) == "-"
    assert due_cell(state, NOW) == "3d" and due_cell(state, NOW + timedelta(days=3)) == "now"
    assert due_cell(replace(state, phase="new"), NOW) == "-" and due_cell(None, NOW) == "-"


def test_browse_state_filter_and_sort(tmp_path):
    it = items(tmp_path)
    states = {
        "pick": CardState("pick", phase="learning", due=NOW, ease=2.3),
        "why": CardState("why", phase="review", due=NOW + timedelta(days=2), ease=2.5, suspended=True),
        "plain": CardState(
            "plain",
            phase="review",
            due=NOW + timedelta(days=1),
            ease=2.6,
            lapses=2,
            buried_until=NOW + timedelta(hours=1),
        ),
    }
    assert [state_label(states.get(i), NOW) for i in it] == ["learning", "suspended", "buried", "new"]
    everything = list(it.values())
    match = lambda f: [i.item_id for i in everything if f.matches(i, states.get(i.item_id), NOW)]  # noqa: E731
    assert match(BrowseFilter(query="zebra stripes")) == ["plain", "plain#rev"]
    assert match(BrowseFilter(query="unembedding")) == ["pick"]  # choice options are searched too
    assert match(BrowseFilter(tag="animals")) == ["plain", "plain#rev"]
    assert match(BrowseFilter(state="new", deck="d")) == ["plain#rev"]
    assert match(BrowseFilter(deck="other")) == []
    by = lambda key, desc=False: [i.item_id for i in sort_items(everything, states, key, desc, NOW)]  # noqa: E731
    assert by(None) == ["pick", "why", "plain", "plain#rev"] and by(None, True) == ["plain#rev", "plain", "why", "pick"]
    assert by("due") == ["pick", "plain", "why", "plain#rev"]  # new last ...
    assert by("due", True) == ["why", "plain", "pick", "plain#rev"]  # ... in either direction
    assert by("lapses", True)[0] == "plain"
    cells = schedule_cells(states["plain"], NOW)
    assert (cells.state, cells.due, cells.ease, cells.lapses) == ("buried", "1d", "260%", "2")
    assert schedule_cells(None, NOW) == schedule_cells(CardState("n"), NOW)

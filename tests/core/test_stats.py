"""Stats: mastery means long-term retention (interval toward 21 days), retention unchanged, `mi-prep stats` output."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mi_prep.cli import main
from mi_prep.context import AppContext
from mi_prep.core.deck import load_decks
from mi_prep.core.scheduling import CardState, Rating
from mi_prep.core.stats import MASTERY_HELP, MATURE_DAYS, compute, item_mastery, mastery_target
from mi_prep.core.store import open_store

T0 = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)


def _basic(i: int) -> str:
    return f"""\
  - id: c{i}
    front: Question {i}?
    back: Answer {i}.
    source: me
"""


def deck_yaml(deck_id: str, n: int, tags: str, extra: str = "") -> str:
    return (
        f"id: {deck_id}\nname: {deck_id.title()}\ntags: {tags}\ncards:\n"
        + "".join(_basic(i).replace(f"id: c{i}", f"id: {deck_id}-c{i}") for i in range(n))
        + extra
    )


@pytest.fixture
def decks(tmp_path: Path):
    d = tmp_path / "decks"
    d.mkdir()
    (d / "alpha.yaml").write_text(deck_yaml("alpha", 10, "[alpha]"))
    return d


def topic(stats, name):
    return next(t for t in stats.topics if t.topic == name)


def test_a_week_of_first_good_answers_is_low_mastery_but_full_retention(tmp_path, decks):
    """The reported bug: one week of Good answers on new cards showed 93% mastery."""
    store, ds = open_store(tmp_path / "data"), load_decks(decks)
    ids = [f"alpha-c{i}" for i in range(10)]
    for day in range(7):  # two new cards a day (the last three days), every due card answered Good
        now = T0 + timedelta(days=day)
        states = store.states()
        due = [i for i in ids if i in states and states[i].due <= now]
        fresh = [i for i in ids if i not in states][:2]
        for k, item in enumerate(due + fresh):
            store.answer(item, Rating.GOOD, now + timedelta(minutes=k))
    st = compute(store, ds, T0 + timedelta(days=7))
    t = topic(st, "alpha")
    assert t.seen == 10 and t.retention == 1.0  # retention: share of passed reviews, as before
    assert t.mature == 0
    assert t.mastery < 0.3  # intervals of 1 and 6 days: 1/21 and 6/21 at most
    assert t.mastery == pytest.approx(sum(min(1, s.interval / 21) for s in store.states().values()) / 10, abs=1e-3)


def test_intervals_of_21_days_or_more_give_full_mastery(tmp_path, decks):
    store, ds = open_store(tmp_path / "data"), load_decks(decks)
    ids = [f"alpha-c{i}" for i in range(10)]
    # SM-2 Good, Good, Good, Good at the due dates: intervals 1, 6, 15, 38 days
    when = T0
    for expected in (1, 6, 15, 38):
        for item in ids:
            assert store.answer(item, Rating.GOOD, when).interval == expected
        if expected == 15:
            t = topic(compute(store, ds, when), "alpha")
            assert t.mastery == pytest.approx(15 / 21, abs=1e-3) and t.mature == 0
        when += timedelta(days=expected)
    t = topic(compute(store, ds, when), "alpha")
    assert t.mastery == 1.0 and t.mature == 10


def test_mastery_averages_items_and_lapses_suspension_count_zero(tmp_path, decks):
    store, ds = open_store(tmp_path / "data"), load_decks(decks)
    for day in (0, 1, 7, 22):  # c0 and c1 reach a 38-day interval; c2..c9 stay new
        for item in ("alpha-c0", "alpha-c1"):
            store.answer(item, Rating.GOOD, T0 + timedelta(days=day))
    now = T0 + timedelta(days=60)
    assert topic(compute(store, ds, now), "alpha").mastery == pytest.approx(0.2)
    store.answer("alpha-c0", Rating.AGAIN, now)  # a lapse: relearning counts 0 ...
    assert topic(compute(store, ds, now), "alpha").mastery == pytest.approx(0.1)
    store.answer("alpha-c0", Rating.GOOD, now + timedelta(minutes=2))  # ... and it restarts at 1 day
    t = topic(compute(store, ds, now), "alpha")
    assert t.mastery == pytest.approx((1 + 1 / 21) / 10, abs=1e-3) and t.lapses == 1 and t.mature == 1
    store.suspend("alpha-c1", now)
    assert topic(compute(store, ds, now), "alpha").mastery == pytest.approx(1 / 21 / 10, abs=1e-3)


def test_interview_date_sooner_than_21_days_is_the_target(tmp_path, decks):
    store, ds = open_store(tmp_path / "data"), load_decks(decks)
    assert mastery_target(store, T0) == MATURE_DAYS
    store.set_config("interview-date", "2026-07-06")  # 5 days away: the scheduler caps intervals at 5
    assert mastery_target(store, T0) == 5
    for item in [f"alpha-c{i}" for i in range(10)]:
        store.answer(item, Rating.GOOD, T0, max_interval=5)
        store.answer(item, Rating.GOOD, T0 + timedelta(days=1), max_interval=4)
    st = compute(store, ds, T0 + timedelta(days=1))
    assert st.mastery_days == 4  # 4 days left now
    assert topic(st, "alpha").mastery == 1.0
    store.set_config("interview-date", "2026-12-01")
    assert compute(store, ds, T0 + timedelta(days=1)).mastery_days == MATURE_DAYS


def test_item_mastery_and_topics_count_review_items(tmp_path, decks):
    assert item_mastery(None) == 0.0
    assert item_mastery(CardState("x", phase="learning", interval=30)) == 0.0
    assert item_mastery(CardState("x", phase="review", interval=7)) == pytest.approx(1 / 3)
    assert item_mastery(CardState("x", phase="review", interval=50)) == 1.0
    assert item_mastery(CardState("x", phase="review", interval=50, suspended=True)) == 0.0
    (decks / "beta.yaml").write_text(
        deck_yaml(
            "beta",
            1,
            "[]",
            """\
  - id: beta-rev
    type: reverse
    front: Term
    back: Meaning
    source: me
""",
        )
    )
    st = compute(open_store(tmp_path / "data"), load_decks(decks), T0)
    assert topic(st, "beta").cards == 3  # no tags: the deck id is the topic; a reverse card is 2 items
    assert all(t.mastery == 0.0 for t in st.topics)
    assert "21 days" in MASTERY_HELP and "long-term retention" in MASTERY_HELP


# --------------------------------------------------------------------------- mi-prep stats


def run(tmp_path: Path, argv: list[str], stdin: str = "", now: datetime = T0) -> tuple[int, str]:
    out = io.StringIO()
    app = AppContext(tmp_path / "data", [tmp_path / "decks"], stdin=io.StringIO(stdin), stdout=out, clock=lambda: now)
    return main(argv, app=app), out.getvalue()


def test_cmd_stats_prints_the_days_it_says(tmp_path, decks):
    (decks / "long.yaml").write_text(deck_yaml("long", 1, "[transcoders-attribution-graphs-and-more]"))
    run(tmp_path, ["review"], stdin="\n3\n\n3\n\n3\n")
    code, out = run(tmp_path, ["stats"])
    assert code == 0
    assert "Reviews per day (last 30 days, oldest first):" in out
    section = out.split("Reviews per day")[1].split("Due forecast")[0]
    dated = [line for line in section.splitlines() if line.startswith("  2026-")]
    assert len(dated) == 30 and dated[-1].startswith("  2026-07-01") and dated[0].startswith("  2026-06-02")
    code, out = run(tmp_path, ["stats", "--days", "5"])
    section = out.split("Reviews per day")[1].split("Due forecast")[0]
    assert "(last 5 days, oldest first)" in section
    assert len([line for line in section.splitlines() if line.startswith("  2026-")]) == 5
    # topic rows line up even for a name longer than the old 28-column field, and say what mastery is
    rows = [line for line in out.splitlines() if line.startswith("  alpha") or line.startswith("  transcoders")]
    assert len(rows) == 2 and len({len(row) for row in rows}) == 1  # right-aligned columns end together
    assert MASTERY_HELP in out
    assert run(tmp_path, ["stats", "--days", "0"])[0] == 2


def test_cmd_stats_json_has_mastery_and_its_meaning(tmp_path, decks):
    run(tmp_path, ["review"], stdin="\n3\n")
    code, out = run(tmp_path, ["stats", "--json", "--days", "7"])
    data = json.loads(out)
    assert code == 0 and len(data["reviews_per_day"]) == 7
    assert data["mastery_definition"] == MASTERY_HELP and data["mastery_days"] == 21
    [alpha] = data["topics"]
    assert alpha["topic"] == "alpha" and alpha["seen"] == 1 and alpha["cards"] == 10
    assert alpha["mastery"] == pytest.approx(1 / 21 / 10, abs=1e-3) and alpha["retention"] == 1.0
    assert alpha["mature"] == 0

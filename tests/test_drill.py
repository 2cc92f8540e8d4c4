"""Drills: plan weights and replay, clocks (timeouts, pause), scoring, report, history/trend,
boosts feeding the scheduler, interview status, and the plain-terminal `mi-prep drill`."""

from __future__ import annotations

import io
import json
import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from mi_prep.cli import main
from mi_prep.context import AppContext
from mi_prep.core import drill as D
from mi_prep.core.deck import KeyPoint, load_decks
from mi_prep.core.questions import FreeText, MultipleChoice, Numeric
from mi_prep.core.scheduling import Rating
from mi_prep.core.store import open_store

T0 = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)


def deck_yaml(deck_id: str, topic: str, n_basic: int = 4, n_explain: int = 2) -> str:
    lines = [f"id: {deck_id}", f"name: {deck_id.title()}", f"tags: [{topic}]", "cards:"]
    for i in range(n_basic):
        lines += [
            f"  - id: {deck_id}-b{i}",
            f"    front: {topic} question {i}?",
            f"    back: {topic} answer {i}",
            f"    source: {topic} paper sec {i}",
        ]
    lines += [
        f"  - id: {deck_id}-choice",
        "    type: choice",
        f"    front: Pick the {topic} fact",
        "    options:",
        "      - text: right one",
        "        correct: true",
        "      - text: wrong one",
        "        why: not this",
        f"    source: {topic} paper",
    ]
    lines += [
        f"  - id: {deck_id}-cloze",
        "    type: cloze",
        f"    front: The {{{{c1::{topic}}}}} thing",
        f"    source: {topic} paper",
    ]
    for i in range(n_explain):
        lines += [
            f"  - id: {deck_id}-e{i}",
            "    type: explain",
            f"    front: Explain {topic} idea {i}",
            f"    back: Model answer for {topic} {i}",
            f"    source: {topic} book ch {i}",
            "    key_points:",
            "      - text: residual stream carries features",
            "        terms: [residual]",
            "      - text: attention moves information between positions",
            "        terms: [attention]",
            "      - Superposition packs sparse features densely",
        ]
    return "\n".join(lines) + "\n"


@pytest.fixture
def env(tmp_path):
    d = tmp_path / "decks"
    d.mkdir()
    (d / "ind.yaml").write_text(deck_yaml("ind", "induction"))
    (d / "sup.yaml").write_text(deck_yaml("sup", "superposition"))
    ds = load_decks(d)
    assert not ds.errors, ds.errors
    store = open_store(tmp_path / "data")
    return store, ds


def fake_lab(topics, seed, *, on_progress=None, cancel=None):
    return D.LabSection(
        "toy-lab",
        [
            MultipleChoice("mc", "Which head is induction?", "L1H0 scored 0.9", ("L0H0", "L1H0"), 1),
            Numeric("num", "Induction score of L1H0?", "0.9 measured", answer=0.9, abs_tol=0.05),
            FreeText(
                "ft",
                "Why does the loss drop?",
                "the bump",
                model_answer="Induction heads form",
                key_points=("induction heads form", "phase change"),
            ),
        ],
        ("induction",),
    )


def plan(store, ds, seed=1, **kw):
    return D.make_plan(store, ds, T0, random.Random(seed), seed=seed, **kw)


def review_all(store, ds, prefix, rating, when):
    from mi_prep.core.session import items_for

    for it in items_for(ds):
        if it.item_id.startswith(prefix):
            store.answer(it.item_id, rating, when, card_id=it.card.id)


# --------------------------------------------------------------------------- weights


def test_topic_weight_formula_exact():
    w = D.topic_weight(passed=0, reviews=8, again_recent=3, drill_scores=[0.2, 0.4])
    assert w.retention == pytest.approx(0.1) and w.recent_lapses == 1.0 and w.drill_score == pytest.approx(0.3)
    assert w.weakness == pytest.approx((0.9 + 1.0 + 0.7) / 3)
    assert w.weight == pytest.approx(1 + 4 * (2.6 / 3))
    strong = D.topic_weight(passed=10, reviews=10, again_recent=0, drill_scores=[1.0])
    assert strong.weight == pytest.approx(1 + 4 * ((1 / 12) / 3))
    neutral = D.topic_weight(0, 0, 0, [])
    assert neutral.weight == pytest.approx(1 + 4 / 3)
    assert D.topic_weight(0, 0, 1, []).recent_lapses == pytest.approx(1 / 3)
    assert D.topic_weight(0, 0, 9, []).recent_lapses == 1.0  # capped


def test_topic_weights_from_store_and_item_factor(env):
    store, ds = env
    review_all(store, ds, "ind-", Rating.AGAIN, T0 - timedelta(days=2))
    review_all(store, ds, "sup-", Rating.GOOD, T0 - timedelta(days=2))
    review_all(store, ds, "sup-", Rating.GOOD, T0 - timedelta(days=30))  # old reviews count for retention only
    w = D.topic_weights(store, ds, T0)
    n = 8  # items per deck: 4 basic + choice + cloze + 2 explain
    assert w["induction"].retention == pytest.approx(1 / (n + 2))
    assert w["induction"].recent_lapses == 1.0
    assert w["superposition"].retention == pytest.approx((2 * n + 1) / (2 * n + 2))
    assert w["superposition"].recent_lapses == 0.0
    assert w["induction"].weight > 3 * w["superposition"].weight / 2
    states = store.states()
    assert D.item_factor(None, T0) == 0.5
    assert D.item_factor(states["ind-b0"], T0) == 2.0  # relearning, due within minutes of the lapse
    assert D.item_factor(states["sup-b0"].evolve(due=T0 + timedelta(hours=1)), T0) == 1.0  # seen, not due yet
    store.suspend("ind-b1", T0)
    assert D.item_factor(store.state("ind-b1"), T0) is None
    p = plan(store, ds, n_questions=16)
    assert "ind-b1" not in {q.item_id for q in p.questions}


def test_weighted_sample_matches_weights():
    heavy = sum(D.weighted_sample(random.Random(s), [("a", 1.0), ("b", 3.0)], 1) == ["b"] for s in range(4000))
    assert 0.72 < heavy / 4000 < 0.78  # P(b first) = 3 / (1 + 3)


def test_weak_topic_drawn_more_often_over_many_seeds(env):
    store, ds = env
    # same due-ness for both topics (all reviewed Good long ago, all due), only the history differs
    review_all(store, ds, "", Rating.GOOD, T0 - timedelta(days=40))
    for day in (3, 2):
        review_all(store, ds, "ind-", Rating.AGAIN, T0 - timedelta(days=day))
        review_all(store, ds, "sup-", Rating.GOOD, T0 - timedelta(days=day))
    store.db.execute("UPDATE card_state SET due = ?", [(T0 - timedelta(hours=1)).isoformat()])
    store.db.conn.commit()
    w = D.topic_weights(store, ds, T0)
    assert w["induction"].weight > w["superposition"].weight
    counts: Counter[str] = Counter()
    for seed in range(300):
        for q in plan(store, ds, seed, n_questions=4).questions:
            counts[q.topic] += 1
    share = counts["induction"] / sum(counts.values())
    assert share > 0.6, counts
    # and with equal histories the split is even
    counts2: Counter[str] = Counter()
    store2 = open_store(":memory:")
    for seed in range(300):
        for q in D.make_plan(store2, ds, T0, random.Random(seed), n_questions=4).questions:
            counts2[q.topic] += 1
    assert 0.4 < counts2["induction"] / sum(counts2.values()) < 0.6


# --------------------------------------------------------------------------- plan


def test_plan_is_seeded_replayable_and_stored(env):
    store, ds = env
    review_all(store, ds, "ind-", Rating.HARD, T0 - timedelta(days=1))
    a, b = plan(store, ds, 7, n_questions=6), plan(store, ds, 7, n_questions=6)
    assert a.to_dict() == b.to_dict()
    assert any(
        plan(store, ds, s, n_questions=6).to_dict()["questions"] != a.to_dict()["questions"] for s in range(8, 20)
    )
    kinds = Counter(q.kind for q in a.questions)
    assert len(a.questions) == 6 and kinds["explain"] == round(6 * D.EXPLAIN_SHARE)
    # budgets: 85% of the time split by units (explain 2.5, recall/choice 1, lab 4)
    unit = 30 * 60_000 * D.ANSWER_SHARE / (kinds["explain"] * 2.5 + (6 - kinds["explain"]) + 4)
    for q in a.questions:
        assert q.budget_ms == int(unit * D.UNITS[q.kind])
    assert a.lab_budget_ms == int(unit * 4)
    assert D.DrillPlan.from_dict(json.loads(json.dumps(a.to_dict()))).to_dict() == a.to_dict()
    dr = D.Drill(store, ds, a)
    dr.start(T0)
    row = store.db.execute("SELECT seed, plan, status FROM drills WHERE id = ?", [dr.drill_id]).fetchone()
    assert row[0] == 7 and json.loads(row[1]) == a.to_dict() and row[2] == "running"


def test_plan_topic_filter_and_no_lab(env):
    store, ds = env
    p = plan(store, ds, topics=["superposition"], n_questions=5, with_lab=False)
    assert {q.topic for q in p.questions} == {"superposition"} and p.lab_budget_ms == 0
    assert p.lab_topics == ("superposition",)
    assert plan(store, ds, topics=["nope"]).questions == []


# --------------------------------------------------------------------------- key points


def test_key_point_preticks_and_score():
    explicit = KeyPoint(text="Attention moves information", terms=("attention", "qk circuit"))
    derived = KeyPoint(
        text="Superposition packs sparse features densely"
    )  # terms: superposition packs sparse features densely
    # the drill pre-ticks with the one grader (tests/core/test_grading.py has the rules)
    assert D.pretick([explicit], "The ATTENTION layer ...") == [True]
    assert D.pretick([explicit], "via the QK circuit") == [True]
    assert D.pretick([explicit], "inattention") == [False]  # whole words only
    assert derived.match_terms() == ("superposition", "packs", "sparse", "features", "densely")
    assert D.pretick([derived], "superposition and sparse") == [False]  # 2 of 5 < half
    assert D.pretick([derived], "superposition stores sparse features") == [True]  # 3 of 5
    assert D.pretick([explicit, derived], "attention only") == [True, False]
    assert D.points_score([True, False, True]) == pytest.approx(0.6667)
    assert D.points_score([]) == 0.0


# --------------------------------------------------------------------------- running a drill


class Clock:
    def __init__(self, t=T0):
        self.t = t

    def __call__(self):
        return self.t

    def advance(self, **kw):
        self.t += timedelta(**kw)
        return self.t


def tiny_env(tmp_path):
    d = tmp_path / "tiny"
    d.mkdir()
    (d / "t.yaml").write_text(
        "id: tiny\nname: Tiny\ntags: [circuits]\ncards:\n"
        "  - id: t-basic\n    front: What is a circuit?\n    back: A subgraph of the model\n    source: Olah 2020\n"
        "  - id: t-choice\n    type: choice\n    front: QK or OV decides where to attend?\n    options:\n"
        "      - text: QK\n        correct: true\n      - text: OV\n    source: Elhage 2021 sec 2\n"
        "  - id: t-explain\n    type: explain\n    front: Explain the residual stream\n    back: A shared bus\n"
        "    source: Elhage 2021 sec 1\n    key_points:\n      - text: every layer reads and writes it\n"
        "        terms: [reads]\n      - text: it is a linear sum\n        terms: [linear, sum]\n"
        "      - text: bandwidth is limited\n        terms: [bandwidth]\n"
    )
    (d / "u.yaml").write_text(
        "id: other\nname: Other\ntags: [saes]\ncards:\n"
        "  - id: o-basic\n    front: What is an SAE?\n    back: A sparse autoencoder\n    source: Bricken 2023\n"
        "  - id: o-basic2\n    front: What is dictionary learning?\n    back: Finding an overcomplete basis\n    source: Bricken 2023\n"
    )
    ds = load_decks(d)
    assert not ds.errors
    return ds


def tiny_plan(store, ds, minutes=10.0, with_lab=True, seed=5):
    p = D.make_plan(
        store,
        ds,
        T0,
        random.Random(seed),
        seed=seed,
        minutes=minutes,
        topics=["circuits"],
        n_questions=3,
        with_lab=with_lab,
    )
    assert {q.item_id for q in p.questions} <= {"t-basic", "t-choice", "t-explain"}
    return p


def choice_key(ds, item_id, seed, right=True):
    """The number to type for the right (or a wrong) option: choice options are shuffled per drill seed."""
    from mi_prep.core.session import option_order

    card = ds.card_index()[item_id][1]
    order = option_order(item_id, len(card.options), f"drill-{seed}")
    pos = [p for p, i in enumerate(order, 1) if (i == card.correct_index) == right][0]
    return str(pos)


def answer_current(dr, clock, secs, text=None, **grade):
    v = dr.view()
    clock.advance(seconds=secs)
    if text is None and v.kind == "choice":
        text = choice_key(dr.deckset, v.item_id, dr.plan.seed)
    if text is None:
        text = {"recall": "a subgraph", "explain": "layers reads it; a linear sum"}.get(v.kind, "x")
    ev = dr.submit(text, clock())
    if ev is None:
        return v, None
    if ev.mode == "self":
        grade.setdefault("self_grade", "right")
    return v, dr.grade(clock(), **grade)


def test_full_drill_scores_report_and_storage(tmp_path):
    ds = tiny_env(tmp_path)
    store = open_store(tmp_path / "data")
    clock = Clock()
    p = tiny_plan(store, ds)
    dr = D.Drill(store, ds, p)
    dr.start(clock())
    assert dr.remaining_ms(clock()) == 600_000 and dr.lab_pending
    seen = []
    while dr.phase == "answering":
        kind = dr.view().kind
        if kind == "recall":
            seen.append(answer_current(dr, clock, 20, self_grade="partly"))
        elif kind == "explain":
            v = dr.view()
            clock.advance(seconds=60)
            ev = dr.submit("every layer reads it, a linear sum", clock())
            assert ev.mode == "points" and ev.ticked == [True, True, False] and ev.reference == "A shared bus"
            clock.advance(seconds=15)  # grading time: counts for the drill, not the question
            seen.append((v, dr.grade(clock(), ticked=[True, False, False])))  # the user corrects the ticks
        else:
            seen.append(answer_current(dr, clock, 10, choice_key(ds, "t-choice", dr.plan.seed, right=False)))
    assert dr.phase == "waiting" and dr.paused  # lab not ready yet: clocks stopped
    clock.advance(seconds=30)
    dr.add_lab(fake_lab(["circuits"], 5), clock())
    assert dr.phase == "answering" and not dr.paused and len(dr.questions) == 6
    lab_budget = p.lab_budget_ms // 3
    answer_current(dr, clock, 5, "L1H0")
    answer_current(dr, clock, 5, "0.88")
    v, rec = answer_current(dr, clock, 5, "induction heads form here", ticked=None)
    assert rec.score == 0.5 and v.kind == "lab" and rec.budget_ms == lab_budget
    assert dr.phase == "finished"
    r = dr.report
    by_item = {a.item_id: a for a in r.answers}
    assert by_item["t-basic"].score == 0.5 and by_item["t-basic"].elapsed_ms == 20_000
    assert by_item["t-choice"].score == 0.0 and by_item["t-choice"].elapsed_ms == 10_000
    assert by_item["t-explain"].score == pytest.approx(1 / 3, abs=1e-3) and by_item["t-explain"].elapsed_ms == 60_000
    assert r.topics["circuits"] == pytest.approx((0.5 + 0 + 0.3333) / 3, abs=1e-3)
    assert r.topics["induction"] == pytest.approx((1 + 1 + 0.5) / 3, abs=1e-3)
    assert r.score == pytest.approx((0.5 + 0 + 0.3333 + 1 + 1 + 0.5) / 6, abs=1e-3)
    assert r.paused_ms == 30_000
    assert r.active_ms == 20_000 + 10_000 + 75_000 + 15_000
    assert r.status == "finished" and r.trend.previous == [] and r.trend.delta is None
    missed = {(m.item_id, m.text, m.source) for m in r.missed}
    assert ("t-explain", "it is a linear sum", "Elhage 2021 sec 1") in missed
    assert ("t-explain", "bandwidth is limited", "Elhage 2021 sec 1") in missed
    assert ("t-choice", "QK or OV decides where to attend? -> QK", "Elhage 2021 sec 2") in missed
    assert ("t-basic", "What is a circuit? -> A subgraph of the model", "Olah 2020") in missed
    assert any(i == "lab:toy-lab:ft" and t == "phase change" for i, t, _ in missed)
    # stored: drill row + one answer row per question
    row = store.db.execute("SELECT status, score, paused_ms, report, plan FROM drills").fetchone()
    assert row[0] == "finished" and row[1] == pytest.approx(r.score) and row[2] == 30_000
    assert D.DrillReport.from_dict(json.loads(row[3])) == D.load_report(store, dr.drill_id)
    assert json.loads(row[4])["lab"]["name"] == "toy-lab"
    rows = list(store.db.query("SELECT * FROM drill_answers ORDER BY idx"))
    assert [x["idx"] for x in rows] == list(range(6))
    ex = next(x for x in rows if x["item_id"] == "t-explain")
    assert json.loads(ex["points"])[0] == {"text": "every layer reads and writes it", "covered": True}
    assert ex["answer"] == "every layer reads it, a linear sum" and ex["timed_out"] == 0
    text = D.format_report(r)
    assert "circuits" in text and "paused 0:30" in text and "[Elhage 2021 sec 1]" in text and "first drill" in text


def test_timeouts_pause_and_drill_clock(tmp_path):
    ds = tiny_env(tmp_path)
    store = open_store(tmp_path / "data")
    clock = Clock()
    p = tiny_plan(store, ds, minutes=2.0, with_lab=False)
    dr = D.Drill(store, ds, p)
    dr.start(clock())
    q0 = dr.current_question
    budget = q0.budget_ms
    clock.advance(milliseconds=budget - 1000)
    dr.pause(clock())
    clock.advance(minutes=10)  # paused: neither clock moves
    assert not dr.tick(clock()) and dr.question_remaining_ms(clock()) == 1000
    assert dr.remaining_ms(clock()) == 120_000 - (budget - 1000)
    dr.resume(clock())
    clock.advance(seconds=2)
    assert dr.tick(clock(), typed="half an answer")
    rec = dr.records[0]
    assert rec.status == "timed_out" and rec.score == 0 and rec.elapsed_ms == budget and rec.answer == "half an answer"
    assert dr.current_index == 1 and dr.phase == "answering"
    # a late submission is a timeout too
    clock.advance(milliseconds=dr.current_question.budget_ms + 1)
    assert dr.submit("late", clock()) is None and dr.records[1].status == "timed_out"
    # the drill clock runs out during grading of the last question: it is kept, the drill ends
    third = dr.current_question
    clock.advance(seconds=1)
    ev = dr.submit(
        "every layer reads it, it is a linear sum and its bandwidth is limited" if third.kind == "explain" else "1",
        clock(),
    )
    assert ev is not None
    clock.advance(minutes=5)
    assert dr.remaining_ms(clock()) == 0
    dr.grade(clock(), self_grade="right") if ev.mode == "self" else dr.grade(clock())
    assert dr.phase == "finished" and dr.report.paused_ms == 600_000
    assert dr.report.answers[2].status == "answered" and dr.report.answers[2].score == 1.0


def test_drill_clock_running_out_times_out_the_rest(tmp_path):
    ds = tiny_env(tmp_path)
    store = open_store(tmp_path / "data")
    clock = Clock()
    dr = D.Drill(store, ds, tiny_plan(store, ds, minutes=1.0, with_lab=False))
    dr.start(clock())
    answer_current(dr, clock, 1)
    assert dr.phase == "answering"
    clock.advance(minutes=2)  # idle on question 2 past the end of the drill
    assert dr.tick(clock())
    assert dr.phase == "finished" and dr.status == "timed out"
    assert [a.status for a in dr.report.answers] == ["answered", "timed_out", "timed_out"]
    assert dr.report.answers[1].elapsed_ms == dr.questions[1].budget_ms


def test_abandon_marks_unanswered_not_scored(tmp_path):
    ds = tiny_env(tmp_path)
    store = open_store(tmp_path / "data")
    clock = Clock()
    dr = D.Drill(store, ds, tiny_plan(store, ds, with_lab=True))
    dr.start(clock())
    answer_current(dr, clock, 5, self_grade="wrong") if dr.view().kind == "recall" else answer_current(dr, clock, 5)
    first_score = dr.records[0].score
    clock.advance(seconds=3)
    r = dr.abandon(clock())
    assert r.status == "stopped"
    assert [a.status for a in r.answers] == ["answered", "unanswered", "unanswered"]
    assert r.score == first_score and r.answers[1].elapsed_ms == 3000
    assert any("unanswered" in n for n in r.notes)
    assert store.db.execute("SELECT COUNT(*) FROM drill_answers WHERE score IS NULL").fetchone()[0] == 2


# --------------------------------------------------------------------------- history, trend, boosts


def run_quick_drill(store, ds, clock, grade):
    dr = D.Drill(store, ds, tiny_plan(store, ds, with_lab=False))
    dr.start(clock())
    while dr.phase == "answering":
        v = dr.view()
        if v.kind == "explain":
            answer_current(dr, clock, 5, ticked=[grade > 0.5] * 3)
        elif v.kind == "choice":
            answer_current(dr, clock, 5, choice_key(ds, v.item_id, dr.plan.seed, right=grade > 0.5))
        else:
            answer_current(dr, clock, 5, self_grade=grade)
    return dr.report


def test_history_and_trend(tmp_path):
    ds = tiny_env(tmp_path)
    store = open_store(tmp_path / "data")
    clock = Clock()
    r1 = run_quick_drill(store, ds, clock, 0.0)
    clock.advance(days=1)
    r2 = run_quick_drill(store, ds, clock, 1.0)
    assert r1.score == 0.0 and r2.score == 1.0
    assert r2.trend.previous == [(r1.drill_id, r1.started, 0.0)]
    assert r2.trend.delta == 1.0 and r2.trend.topic_delta == {"circuits": 1.0}
    hist = D.drill_history(store)
    assert [h.id for h in hist] == [r2.drill_id, r1.drill_id]
    assert hist[0].topics == {"circuits": 1.0} and hist[1].score == 0.0 and hist[0].minutes == 10.0
    assert "#1 0%  -> now 100% (delta +100%)" in D.format_report(r2)
    # drill scores feed the weights: D_t = mean of the last 3 drills
    assert D.recent_drill_scores(store, "circuits") == [1.0, 0.0]
    assert D.topic_weights(store, ds, clock())["circuits"].drill_score == 0.5


def test_boost_rule_makes_missed_topics_due_and_replays(tmp_path):
    ds = tiny_env(tmp_path)
    store = open_store(tmp_path / "data")
    start = T0 - timedelta(days=30)
    from mi_prep.core.session import items_for

    for it in items_for(ds):
        if it.item_id != "o-basic2":  # left new
            for k in range(3):
                store.answer(it.item_id, Rating.EASY, start + timedelta(days=k * 8), card_id=it.card.id)
    store.suspend("t-basic", T0 - timedelta(days=1))
    before = store.states()
    assert all(s.due > T0 + timedelta(days=1) for i, s in before.items() if i != "t-basic")
    clock = Clock()
    report = run_quick_drill(store, ds, clock, 0.0)  # circuits 0% < 60%
    assert report.topics == {"circuits": 0.0}
    after = store.states()
    limit = clock() + timedelta(days=1)
    assert after["t-choice"].due == limit and after["t-explain"].due == limit
    assert after["t-basic"].due == before["t-basic"].due  # suspended: untouched
    assert after["o-basic"].due == before["o-basic"].due  # other topic: untouched
    assert "o-basic2" not in after
    assert report.boosted == {"circuits": 2}
    boosts = [r for r in store.log_rows() if r["kind"] == "boost"]
    assert {r["item_id"] for r in boosts} == {"t-choice", "t-explain"} and {r["source"] for r in boosts} == {"drill"}
    for item_id in after:
        assert store.replay_item(item_id) == store.state(item_id)
    # an item already due sooner keeps its date; a good drill boosts nothing
    store.answer("t-choice", Rating.AGAIN, clock())
    soon = store.state("t-choice").due
    report2 = run_quick_drill(store, ds, clock, 0.0)
    assert store.state("t-choice").due == soon and report2.boosted == {"circuits": 0}
    report3 = run_quick_drill(store, ds, clock, 1.0)
    assert report3.boosted == {}
    for item_id in store.states():
        assert store.replay_item(item_id) == store.state(item_id)


# --------------------------------------------------------------------------- interview date


def test_interview_status(tmp_path):
    ds = tiny_env(tmp_path)
    store = open_store(tmp_path / "data")
    st = D.interview_status(store, ds, T0)
    assert st.days_left is None and st.topics == [("circuits", 0.0), ("saes", 0.0)]
    store.set_config("interview-date", "2026-07-15")
    store.answer("o-basic", Rating.EASY, T0)  # graduates at once
    store.answer("t-basic", Rating.AGAIN, T0)  # still learning
    st = D.interview_status(store, ds, T0)
    assert st.days_left == 14 and st.date.isoformat() == "2026-07-15"
    assert st.topics == [("circuits", 0.0), ("saes", 0.5)]
    assert D.interview_status(store, ds, T0 + timedelta(days=20)).days_left == -6


def test_interview_date_caps_intervals_end_to_end(tmp_path):
    ds_dir = tmp_path / "tiny"
    tiny_env(tmp_path)
    clock = Clock()
    out = io.StringIO()
    app = AppContext(tmp_path / "data", [ds_dir], stdin=io.StringIO(""), stdout=out, clock=clock)
    assert main(["config", "set", "interview-date", "2026-07-06"], app=app) == 0
    for _day in range(4):
        app.stdin = io.StringIO("\n4\n" * 5)
        assert main(["review", "--deck", "other"], app=app) == 0
        st = app.store.state("o-basic")
        days_left = (datetime(2026, 7, 6, tzinfo=UTC).date() - clock().date()).days
        if days_left >= 0:  # once the interview is over, intervals grow again
            assert st.interval <= max(1, days_left)  # Easy every time, yet never past the interview
            assert st.due.date() <= max(datetime(2026, 7, 6).date(), clock().date() + timedelta(days=1))
        clock.advance(days=st.interval or 1)
    status = D.interview_status(app.store, app.decks, clock())
    assert status.days_left is not None and dict(status.topics)["saes"] == 1.0


# --------------------------------------------------------------------------- CLI


def cli_app(tmp_path, stdin, clock):
    out = io.StringIO()
    app = AppContext(tmp_path / "data", [tmp_path / "tiny"], stdin=io.StringIO(stdin), stdout=out, clock=clock)
    return app, out


def script_for(store, ds, seed, answers):
    """stdin for `drill --topics circuits --questions 3 --seed N`, from the plan that seed gives."""
    p = D.make_plan(store, ds, T0, random.Random(seed), seed=seed, topics=["circuits"], n_questions=3)
    return "".join(answers[q.kind] for q in p.questions), p


def test_cli_drill_full_run(tmp_path):
    ds = tiny_env(tmp_path)
    clock = Clock()
    app, out = cli_app(tmp_path, "", clock)
    app.lab_provider = fake_lab
    stdin, p = script_for(
        app.store,
        ds,
        11,
        {
            "recall": "p\n\na subgraph\nof weights\n\nr\n",  # pause, then a two-line answer, then 'right'
            "choice": choice_key(ds, "t-choice", 11) + "\n",
            "explain": "every layer reads it\n\n2\n",  # typed covers point 1; the user ticks point 2 instead
        },
    )
    stdin += "L1H0\n0.9\n\ninduction heads form\n\n\n"
    app.stdin = io.StringIO(stdin)
    code = main(["drill", "--topics", "circuits", "--questions", "3", "--seed", "11", "--minutes", "10"], app=app)
    text = out.getvalue()
    assert code == 0, text
    assert "lab ready: toy-lab" in text and "Drill #1: 6 questions in 10:00 (seed 11)" in text
    assert "paused (drill left 10:00); Enter resumes" in text
    assert "  1. [x] every layer reads and writes it" in text
    assert "Drill #1 (finished): score" in text and "first drill" in text
    rows = {r["item_id"]: r for r in app.store.db.query("SELECT * FROM drill_answers")}
    assert rows["t-basic"]["answer"] == "a subgraph\nof weights" and rows["t-basic"]["score"] == 1.0
    assert rows["t-choice"]["score"] == 1.0
    assert rows["t-explain"]["score"] == pytest.approx(1 / 3, abs=1e-3)
    assert json.loads(rows["t-explain"]["points"])[1]["covered"] is True
    assert rows["lab:toy-lab:mc"]["score"] == 1.0 and rows["lab:toy-lab:num"]["score"] == 1.0
    assert rows["lab:toy-lab:ft"]["score"] == 0.5
    assert json.loads(app.store.db.execute("SELECT plan FROM drills").fetchone()[0])["seed"] == 11
    # history lists it; show prints the stored report
    app.stdout = out2 = io.StringIO()
    assert main(["drill", "history"], app=app) == 0
    hist = out2.getvalue().splitlines()
    assert hist[0].split() == ["id", "date", "min", "score", "status", "topics"]
    assert hist[1].split()[:5] == ["1", "2026-07-01", "09:00", "10", "81%"] and "circuits 78%" in hist[1]
    app.stdout = out3 = io.StringIO()
    assert main(["drill", "show", "1"], app=app) == 0 and "Drill #1 (finished)" in out3.getvalue()


def test_cli_drill_eof_marks_the_rest_unanswered_and_lab_skipped(tmp_path):
    ds = tiny_env(tmp_path)
    clock = Clock()
    app, out = cli_app(tmp_path, "", clock)

    def no_torch(topics, seed, **_):
        return D.LabSkipped("torch is not installed (pip install 'mi-prep[labs]')")

    app.lab_provider = no_torch
    stdin, p = script_for(
        app.store,
        ds,
        2,
        {"recall": "x\n\nw\n", "choice": choice_key(ds, "t-choice", 2, right=False) + "\n", "explain": "nothing\n\n\n"},
    )
    first = p.questions[0].kind
    app.stdin = io.StringIO(
        {"recall": "x\n\nw\n", "choice": choice_key(ds, "t-choice", 2, right=False) + "\n", "explain": "nothing\n\n\n"}[
            first
        ]
    )
    assert main(["drill", "--topics", "circuits", "--questions", "3", "--seed", "2"], app=app) == 0
    text = out.getvalue()
    assert "lab skipped: torch is not installed" in text
    assert "end of input: the remaining questions are marked unanswered" in text
    assert "Drill #1 (stopped)" in text and "2 question(s) unanswered (not scored)" in text
    statuses = [r[0] for r in app.store.db.execute("SELECT score FROM drill_answers ORDER BY idx")]
    assert statuses[1:] == [None, None]
    row = app.store.db.execute("SELECT status, score FROM drills").fetchone()
    assert row == ("stopped", 0.0)


def test_cli_drill_timeout_in_terminal(tmp_path):
    tiny_env(tmp_path)
    clock = Clock()

    class SlowIn(io.StringIO):  # every line typed takes 5 minutes
        def readline(self, *a):
            clock.advance(minutes=5)
            return super().readline(*a)

    app, out = cli_app(tmp_path, "", clock)
    app.stdin = SlowIn("1\n\nr\n")
    assert main(["drill", "--topics", "circuits", "--questions", "3", "--no-lab", "--minutes", "6"], app=app) == 0
    text = out.getvalue()
    assert "time's up" in text and "(timed out)" in text
    assert app.store.db.execute("SELECT status FROM drills").fetchone()[0] == "timed out"


def test_cli_drill_errors_and_replay(tmp_path):
    tiny_env(tmp_path)
    clock = Clock()
    app, out = cli_app(tmp_path, "", clock)
    assert main(["drill", "--topics", "nope", "--no-lab"], app=app) == 2
    assert "known topics: circuits, saes" in out.getvalue()
    assert main(["drill", "history"], app=app) == 0 and "no drills yet" in out.getvalue()
    assert main(["drill", "show", "9"], app=app) == 2
    assert main(["drill", "--replay", "9"], app=app) == 2
    assert main(["drill", "--seed", "4", "--no-lab", "--questions", "2"], app=app) == 0  # EOF at once
    app.stdout = io.StringIO()
    assert main(["drill", "--replay", "1", "--no-lab"], app=app) == 0
    plans = [json.loads(r[0]) for r in app.store.db.execute("SELECT plan FROM drills ORDER BY id")]
    assert [q["item_id"] for q in plans[0]["questions"]] == [q["item_id"] for q in plans[1]["questions"]]


def test_real_lab_provider_without_torch(monkeypatch, tmp_path):
    import importlib.util

    from mi_prep.lab import drill_provider

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a))
    outcome = drill_provider.make_lab_provider(cache_dir=tmp_path)(["induction"], 1)
    assert outcome == D.LabSkipped("torch is not installed (pip install 'mi-prep[labs]')")
    assert outcome.note == "lab skipped: torch is not installed (pip install 'mi-prep[labs]')"


def test_real_lab_provider_reports_a_failed_run_as_skipped_once(monkeypatch, tmp_path):
    """An unusable device or a failed run comes back as LabSkipped with its reason; nothing is retried."""
    import importlib.util

    from mi_prep.lab import runner
    from mi_prep.lab.api import LabUnavailable
    from mi_prep.lab.drill_provider import make_lab_provider

    labs = tmp_path / "labs"
    labs.mkdir()
    (labs / "toy.py").write_text(
        "from mi_prep.lab.api import Lab, LabResult\n"
        "class Toy(Lab):\n    name = 'toy'\n    topics = ('induction',)\n    defaults = {'steps': 1}\n"
        "    def run(self, ctx):\n        return LabResult([], {}, [])\n"
        "LAB = Toy()\n"
    )
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object() if name == "torch" else real(name, *a))
    calls = []

    def no_cuda(lab, **kw):
        calls.append(kw["device"])
        raise LabUnavailable("--device cuda: CUDA is not available here (use --device cpu)")

    monkeypatch.setattr(runner, "run_lab", no_cuda)
    out = make_lab_provider(device="cuda", labs_dir=labs, cache_dir=tmp_path)(["induction"], 1)
    assert out == D.LabSkipped("toy: --device cuda: CUDA is not available here (use --device cpu)")
    assert calls == ["cuda"]  # no second try on the CPU

    class Failed:
        status, ok, error, result = "failed", False, "RuntimeError: boom\ntraceback ...", None

    monkeypatch.setattr(runner, "run_lab", lambda lab, **kw: calls.append(kw["device"]) or Failed())
    assert make_lab_provider(labs_dir=labs, cache_dir=tmp_path)(["induction"], 1) == D.LabSkipped(
        "toy failed (RuntimeError: boom)"
    )
    assert calls == ["cuda", None]


def test_pick_lab_prefers_weakest_topic():
    from mi_prep.lab.drill_provider import pick_lab

    class L:
        def __init__(self, name, topics):
            self.name, self.topics = name, topics

    labs = [L("a", ("saes",)), L("b", ("induction",)), L("c", ("steering",))]
    assert pick_lab(labs, ["induction", "saes"], 0).name == "b"
    assert pick_lab(labs, ["nothing"], 3).name in {"a", "b", "c"}


def test_real_lab_provider_runs_a_lab_with_small_settings(tmp_path):
    pytest.importorskip("torch")
    from mi_prep.lab.drill_provider import MODEL_SEEDS, make_lab_provider

    labs = tmp_path / "labs"
    labs.mkdir()
    (labs / "toy.py").write_text(
        "from mi_prep.lab.api import Lab, LabResult\n"
        "from mi_prep.core.questions import Numeric\n"
        "class Toy(Lab):\n"
        "    name = 'toy'\n    topics = ('induction',)\n"
        "    defaults = {'steps': 1000, 'width': 4}\n    small = {'steps': 3}\n"
        "    def run(self, ctx):\n"
        "        assert ctx.cache_dir.is_dir()\n"
        "        ctx.progress(1, 2, message='training')\n"
        "        return LabResult([], {'steps': ctx.params['steps']}, "
        "[Numeric('n', 'steps?', f'ran {ctx.params} seed {ctx.seed}', answer=float(ctx.params['steps']))])\n"
        "LAB = Toy()\n"
    )
    seen = []
    provider = make_lab_provider(cache_dir=tmp_path / "models", labs_dir=labs)
    section = provider(["induction"], 7, on_progress=seen.append)
    assert section.name == "toy" and section.topics == ("induction",) and section.blocks == []
    [q] = section.questions
    assert q.answer == 3.0 and "'width': 4" in q.explanation  # small settings over the defaults
    # drills reuse a small pool of model seeds, so cached models are found again
    assert f"seed {MODEL_SEEDS[7 % len(MODEL_SEEDS)]}" in q.explanation
    used = {provider(["induction"], s).questions[0].explanation.rsplit("seed ", 1)[1] for s in range(20)}
    assert used == {str(s) for s in MODEL_SEEDS}
    assert [p.step for p in seen] == [1]


def test_a_failed_write_keeps_the_question_so_no_answer_is_lost(tmp_path, monkeypatch):
    """Disk full while a graded answer is saved: the drill stays on that question (nothing in memory
    that is not in the database), and the same grade saves it once the write works again."""
    import sqlite3

    from mi_prep.core.store import StorageError

    ds = tiny_env(tmp_path)
    store = open_store(tmp_path / "data")
    clock = Clock()
    dr = D.Drill(store, ds, tiny_plan(store, ds, with_lab=False))
    dr.start(clock())
    v = dr.view()
    clock.advance(seconds=5)
    text = choice_key(ds, v.item_id, dr.plan.seed) if v.kind == "choice" else "every layer reads it"
    dr.submit(text, clock())
    real = store.transaction

    def full(*a, **k):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(store, "transaction", full)
    with pytest.raises((sqlite3.OperationalError, StorageError)):
        dr.grade(clock(), self_grade="right") if dr.evaluation.mode == "self" else dr.grade(clock())
    assert dr.phase == "grading" and dr.records == [] and dr.view().item_id == v.item_id
    monkeypatch.setattr(store, "transaction", real)
    rec = dr.grade(clock(), self_grade="right") if dr.evaluation.mode == "self" else dr.grade(clock())
    assert rec.item_id == v.item_id and len(dr.records) == 1
    saved = store.db.execute("SELECT item_id, answer FROM drill_answers").fetchall()
    assert saved == [(v.item_id, text)]

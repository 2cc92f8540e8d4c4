"""Timed mock-interview drills: plan, clock, scoring, report, history, scheduling feedback.

Pure logic: no Textual, no torch, no hidden clock. Every function that needs the time takes
``now`` (timezone-aware); randomness comes from a ``random.Random`` passed in. The CLI
(``mi-prep drill``) and the TUI (``DrillScreen``) both drive a :class:`Drill`.

Plan (:func:`make_plan`)
------------------------
A drill asks ``n`` deck questions (about 30% ``explain`` cards, the rest recall: basic,
reverse, cloze and choice items), then one lab section (the interpretation questions of one
lab run) when a lab provider is given. Items are drawn without replacement, weighted toward
weak topics and due cards::

    for each topic t (a deck's tags; the deck id when it has none):
        R_t = (passed_t + 1) / (reviews_t + 2)     smoothed retention over all (not undone)
                                                   reviews of the topic's items; pass = rating > 1
        L_t = min(1, again_14d_t / 3)              recent lapses: Again answers in the last 14 days
        D_t = mean drill score of t over its last 3 drills (unanswered questions excluded);
              0.5 when t was never drilled
        weakness_t = ((1 - R_t) + L_t + (1 - D_t)) / 3          in [0, 1]
        W_t = 1 + 4 * weakness_t                                  in [1, 5]
    for each item i (suspended items are excluded):
        S_i = 2 if i is due (seen and due <= now), 1 if seen and not yet due, 0.5 if never seen
        w_i = max(W_t for t in topics(i)) * S_i

The draw is Efraimidis-Spirakis weighted sampling without replacement: each item gets the key
``u ** (1 / w_i)`` with ``u = rng.random()`` (items visited in item-id order) and the largest
keys win. So the plan depends only on the seed, the decks and the store state at ``now``: same
seed + same store state -> same plan (tested). The seed and the plan (item ids, budgets, weights)
are stored in the ``drills`` row. ``--topics`` keeps only items whose deck or card tags match.

Time
----
``minutes`` is the whole drill. 85% of it is split into per-question budgets in proportion to
units (recall/choice 1, explain 2.5, the lab section 4 shared by its questions); the other 15% is
slack for reading the model answer and grading yourself. Two clocks run on "active time"
(wall time minus pauses):

* the drill countdown: ``minutes`` minus active time since the start (grading counts);
* the question clock: active time from showing the question to submitting it.

A question whose clock reaches its budget (or the drill countdown reaching 0) is *timed out*:
score 0, whatever was typed is kept, the drill goes on (when the drill countdown is out, every
remaining question is timed out and the drill ends). Pauses stop both clocks and their total is
in the report. Time spent waiting for the lab to finish is counted as a pause.

Scoring
-------
* ``explain`` cards and lab free-text questions: after submitting, the model answer and the key
  points are shown, pre-ticked by the one key-point grader (:mod:`mi_prep.core.grading`: whole
  words with simple inflections, negated and bare-list mentions do not count). The user can
  change the ticks; score = ticked points / all points.
* recall (basic, reverse, cloze): the answer is shown and the user marks it right (1), partly
  (0.5) or wrong (0).
* choice cards and lab multiple-choice / numeric / component questions: auto-graded.
* Topic score = mean score of its answered + timed-out questions; drill score = mean over all of
  them. Unanswered questions (the drill was stopped) are listed but not scored.

Feedback to scheduling (:data:`BOOST_BELOW`)
--------------------------------------------
When a drill ends, for every topic scoring below 60%, every already-seen, not suspended item of
that topic (all decks, not only the drilled cards; ``lab:NAME`` too when a lab's topic missed) gets
``store.boost(item, now, due=now + 1 day)``, which makes it due no later than tomorrow (an item
already due sooner keeps its date). Boosts are log events, so replaying the log still rebuilds
the same state.

Interview date
--------------
``mi-prep config set interview-date 2026-12-15`` caps every new interval at the days left
(:func:`mi_prep.core.session.interview_cap`), so everything comes round again before the
interview. :func:`interview_status` gives the countdown and per-topic coverage for the home screen.
"""

from __future__ import annotations

import inspect
import json
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from random import Random
from typing import Any, Callable, Iterable, Literal, Sequence

from mi_prep.core.deck import DeckSet, KeyPoint
from mi_prep.core.grading import coverage
from mi_prep.core.scheduling import aware
from mi_prep.core.session import ReviewItem, items_for, option_order
from mi_prep.core.store import Store
from mi_prep.core.questions import FreeText, MultipleChoice, Question, question_from_dict

# --------------------------------------------------------------------------- constants

DEFAULT_MINUTES = 30.0
DEFAULT_QUESTIONS = 8
EXPLAIN_SHARE = 0.3
ANSWER_SHARE = 0.85
"""Share of the drill's minutes split into per-question budgets; the rest is for grading."""
UNITS = {"recall": 1.0, "choice": 1.0, "explain": 2.5}
LAB_UNITS = 4.0
MAX_LAB_QUESTIONS = 4
RECENT_LAPSE_DAYS = 14
LAPSES_FOR_MAX = 3
DRILLS_FOR_SCORE = 3
NEUTRAL_DRILL_SCORE = 0.5
DUE_FACTOR, SEEN_FACTOR, NEW_FACTOR = 2.0, 1.0, 0.5
BOOST_BELOW = 0.6
"""Topics scoring below this in a drill have their seen items made due within a day."""
BOOST_WITHIN = timedelta(days=1)
SELF_GRADES = {"right": 1.0, "partly": 0.5, "wrong": 0.0}

Kind = Literal["recall", "choice", "explain", "lab"]
Phase = Literal["ready", "answering", "grading", "waiting", "finished"]


def _ms(delta: timedelta) -> int:
    return int(round(delta.total_seconds() * 1000))


def item_topics(item: ReviewItem) -> tuple[str, ...]:
    """An item's topics: its deck's tags, else the deck id (as in :mod:`mi_prep.core.stats`)."""
    return tuple(item.deck.deck.tags) or (item.deck.id,)


def item_kind(item: ReviewItem) -> Kind:
    if item.card.type == "explain":
        return "explain"
    if item.card.type == "choice":
        return "choice"
    return "recall"


# --------------------------------------------------------------------------- weights


@dataclass(frozen=True)
class TopicWeight:
    topic: str
    retention: float
    """Smoothed retention R_t."""
    recent_lapses: float
    """L_t in [0, 1]."""
    drill_score: float
    """D_t (0.5 when never drilled)."""

    @property
    def weakness(self) -> float:
        return ((1 - self.retention) + self.recent_lapses + (1 - self.drill_score)) / 3

    @property
    def weight(self) -> float:
        return 1 + 4 * self.weakness


def topic_weight(passed: int, reviews: int, again_recent: int, drill_scores: Sequence[float], topic: str = "") -> TopicWeight:
    """W_t from raw counts (see the module docstring)."""
    r = (passed + 1) / (reviews + 2)
    lapse = min(1.0, again_recent / LAPSES_FOR_MAX)
    d = sum(drill_scores) / len(drill_scores) if drill_scores else NEUTRAL_DRILL_SCORE
    return TopicWeight(topic, r, lapse, d)


def item_factor(state: Any, now: datetime) -> float | None:
    """S_i: 2 due, 1 seen, 0.5 new; None for suspended items (never drawn)."""
    if state is None or state.phase == "new":
        return None if (state is not None and state.suspended) else NEW_FACTOR
    if state.suspended:
        return None
    return DUE_FACTOR if state.due is not None and state.due <= now else SEEN_FACTOR


def recent_drill_scores(store: Store, topic: str, last: int = DRILLS_FOR_SCORE) -> list[float]:
    rows = store.db.execute(
        """SELECT drill_id, AVG(score) FROM drill_answers WHERE topic = ? AND score IS NOT NULL
           GROUP BY drill_id ORDER BY drill_id DESC LIMIT ?""",
        [topic, last],
    ).fetchall()
    return [float(r[1]) for r in rows]


def topic_weights(store: Store, deckset: DeckSet, now: datetime,
                  items: Iterable[ReviewItem] | None = None) -> dict[str, TopicWeight]:
    aware(now)
    items = list(items if items is not None else items_for(deckset))
    undone = {r[0] for r in store.db.execute("SELECT ref_id FROM review_log WHERE kind='undo' AND ref_id IS NOT NULL")}
    since = now - timedelta(days=RECENT_LAPSE_DAYS)
    per_item: dict[str, list[tuple[int, datetime]]] = defaultdict(list)
    for r in store.db.execute("SELECT id, item_id, rating, ts FROM review_log WHERE kind='review' ORDER BY id"):
        if r[0] not in undone:
            per_item[r[1]].append((r[2], datetime.fromisoformat(r[3])))
    by_topic: dict[str, list[str]] = defaultdict(list)
    for it in items:
        for t in item_topics(it):
            by_topic[t].append(it.item_id)
    out = {}
    for topic in sorted(by_topic):
        revs = [x for i in by_topic[topic] for x in per_item.get(i, [])]
        passed = sum(1 for rating, _ in revs if rating > 1)
        again = sum(1 for rating, ts in revs if rating == 1 and since <= ts <= now)
        out[topic] = topic_weight(passed, len(revs), again, recent_drill_scores(store, topic), topic)
    return out


def weighted_sample(rng: Random, weighted: Sequence[tuple[str, float]], k: int) -> list[str]:
    """Efraimidis-Spirakis: k keys drawn without replacement, P proportional to weight. Deterministic given rng."""
    keyed = []
    for key, w in sorted(weighted):
        u = rng.random()
        keyed.append((u ** (1.0 / w) if w > 0 else 0.0, key))
    keyed.sort(key=lambda t: (-t[0], t[1]))
    return [key for _, key in keyed[:k]]


# --------------------------------------------------------------------------- plan


@dataclass(frozen=True)
class PlannedQuestion:
    idx: int
    kind: Kind
    item_id: str
    """Deck item id, or ``lab:NAME:QUESTION_ID`` for a lab question."""
    topic: str
    budget_ms: int
    weight: float = 0.0
    lab_question: dict[str, Any] | None = None


@dataclass
class DrillPlan:
    seed: int
    minutes: float
    topics: tuple[str, ...]
    n_questions: int
    questions: list[PlannedQuestion]
    topic_weights: dict[str, float]
    lab_topics: tuple[str, ...] = ()
    """Topics the lab should exercise, weakest first (passed to the lab provider)."""
    lab_budget_ms: int = 0
    """Reserved for the lab section (0: no lab)."""
    lab: dict[str, Any] | None = None
    """``{"name", "topics", "note"}`` once the lab section is known."""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["topics"] = list(self.topics)
        d["lab_topics"] = list(self.lab_topics)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "DrillPlan":
        d = dict(d)
        d["questions"] = [PlannedQuestion(**q) for q in d["questions"]]
        d["topics"] = tuple(d.get("topics") or ())
        d["lab_topics"] = tuple(d.get("lab_topics") or ())
        return cls(**d)


def make_plan(store: Store, deckset: DeckSet, now: datetime, rng: Random, *, seed: int = 0,
              minutes: float = DEFAULT_MINUTES, topics: Sequence[str] | None = None,
              n_questions: int = DEFAULT_QUESTIONS, with_lab: bool = True) -> DrillPlan:
    """Draw a drill (see the module docstring for the weights). ``rng`` should be ``Random(seed)``."""
    aware(now)
    if minutes <= 0 or n_questions < 0:
        raise ValueError("minutes must be > 0 and questions >= 0")
    wanted = set(topics or ())
    all_items = items_for(deckset)
    items = [i for i in all_items if not wanted or wanted & (set(i.tags) | set(item_topics(i)))]
    weights = topic_weights(store, deckset, now, all_items)
    states = store.states()
    pools: dict[str, list[tuple[str, float]]] = {"explain": [], "recall": []}
    by_id = {}
    for it in items:
        if it.card.type == "explain" and it.variant != "front":
            continue
        s = item_factor(states.get(it.item_id), now)
        if s is None:
            continue
        w = max(weights[t].weight for t in item_topics(it)) * s
        pools["explain" if it.card.type == "explain" else "recall"].append((it.item_id, round(w, 6)))
        by_id[it.item_id] = (it, w)
    n_explain = min(len(pools["explain"]), max(1, round(n_questions * EXPLAIN_SHARE))) if n_questions else 0
    n_recall = min(len(pools["recall"]), n_questions - n_explain)
    n_explain = min(len(pools["explain"]), n_questions - n_recall)
    chosen = weighted_sample(rng, pools["recall"], n_recall) + weighted_sample(rng, pools["explain"], n_explain)
    chosen_topics = {t for i in chosen for t in item_topics(by_id[i][0])}
    lab_topics = tuple(sorted((t for t in weights if not wanted or t in wanted or t in chosen_topics),
                              key=lambda t: (-weights[t].weight, t)))
    kinds = [item_kind(by_id[i][0]) for i in chosen]
    units = sum(UNITS[k] for k in kinds) + (LAB_UNITS if with_lab else 0.0)
    unit_ms = (minutes * 60_000 * ANSWER_SHARE / units) if units else 0.0
    questions = [
        PlannedQuestion(idx, kind, iid, item_topics(by_id[iid][0])[0], int(unit_ms * UNITS[kind]), round(by_id[iid][1], 4))
        for idx, (iid, kind) in enumerate(zip(chosen, kinds))
    ]
    return DrillPlan(seed, float(minutes), tuple(sorted(wanted)), n_questions, questions,
                     {t: round(w.weight, 4) for t, w in weights.items()}, lab_topics,
                     int(unit_ms * LAB_UNITS) if with_lab else 0)


# --------------------------------------------------------------------------- lab section


@dataclass
class LabSection:
    name: str
    questions: list[Question]
    topics: tuple[str, ...] = ()
    note: str = ""
    blocks: list[Any] = field(default_factory=list)
    """The run's result blocks (``mi_prep.lab.api`` blocks), shown beside the lab's questions."""


LabProvider = Callable[..., Any]
"""``provider(topics_weakest_first, seed[, on_progress=..., cancel=...])`` -> a :class:`LabSection`
(or ``(lab name, questions[, topics])``); may raise (e.g. ``LabUnavailable``) to skip the lab with
a note. ``on_progress`` and ``cancel`` are passed only to providers that accept them."""


def as_lab_section(value: Any) -> LabSection:
    if isinstance(value, LabSection):
        return value
    name, questions, *rest = value
    return LabSection(str(name), list(questions), tuple(rest[0]) if rest else ())


def lab_skip_note(exc: BaseException) -> str:
    """The note a drill records when its lab could not run (providers say ``lab skipped: ...`` themselves)."""
    return str(exc) if str(exc).startswith("lab skipped") else f"lab skipped: {type(exc).__name__}: {exc}"


def call_provider(provider: LabProvider, topics: Sequence[str], seed: int, **extra: Any) -> LabSection:
    """Run ``provider``, passing the keyword arguments of ``extra`` it declares (progress, cancel)."""
    params = inspect.signature(provider).parameters
    takes_all = any(p.kind is p.VAR_KEYWORD for p in params.values())
    kwargs = {k: v for k, v in extra.items() if takes_all or k in params}
    return as_lab_section(provider(topics, seed, **kwargs))


# --------------------------------------------------------------------------- key points


def pretick(points: Sequence[KeyPoint], answer: str) -> list[bool]:
    """Key points pre-ticked from the answer (the one grader: :mod:`mi_prep.core.grading`)."""
    return coverage([p.grading_point() for p in points], answer)


def points_score(ticked: Sequence[bool]) -> float:
    return round(sum(bool(t) for t in ticked) / len(ticked), 4) if ticked else 0.0


# --------------------------------------------------------------------------- run


@dataclass
class QuestionView:
    """What a UI shows for the current question."""

    idx: int
    number: int
    total: int
    kind: Kind
    topic: str
    prompt: str
    options: list[str]
    budget_ms: int
    source: str
    item_id: str
    hint: str = ""
    """How to answer (the answer format, never the answer)."""
    long_answer: bool = False
    """An explanation is expected (explain cards, lab free-text questions): give it room."""


@dataclass
class Evaluation:
    """Shown after submitting: the reference answer and how it will be scored."""

    mode: Literal["points", "self", "auto"]
    reference: str
    points: list[str] = field(default_factory=list)
    ticked: list[bool] = field(default_factory=list)
    """Pre-ticked key points (the user may change them)."""
    auto_score: float | None = None
    feedback: str = ""
    source: str = ""


@dataclass
class AnswerRecord:
    idx: int
    kind: Kind
    item_id: str
    topic: str
    prompt: str
    answer: str | None
    score: float | None
    elapsed_ms: int
    budget_ms: int
    status: Literal["answered", "timed_out", "unanswered"]
    points: list[dict[str, Any]] = field(default_factory=list)
    """``{"text", "covered"}`` per key point (explain / free text)."""
    reference: str = ""
    source: str = ""


@dataclass
class Trend:
    previous: list[tuple[int, str, float]]
    """(drill id, started ISO, score) of up to 5 earlier scored drills, oldest first."""
    delta: float | None
    """This score minus the previous drill's."""
    topic_delta: dict[str, float]
    """Per topic: this score minus the topic's score in the latest earlier drill that had it."""


@dataclass
class MissedPoint:
    idx: int
    topic: str
    item_id: str
    text: str
    source: str


@dataclass
class DrillReport:
    drill_id: int
    seed: int
    started: str
    finished: str
    minutes: float
    status: str
    score: float | None
    active_ms: int
    paused_ms: int
    topics: dict[str, float | None]
    answers: list[AnswerRecord]
    missed: list[MissedPoint]
    trend: Trend
    boosted: dict[str, int]
    notes: list[str]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "DrillReport":
        d = dict(d)
        d["answers"] = [AnswerRecord(**a) for a in d["answers"]]
        d["missed"] = [MissedPoint(**m) for m in d["missed"]]
        t = d["trend"]
        d["trend"] = Trend([tuple(p) for p in t["previous"]], t["delta"], t["topic_delta"])
        return cls(**d)


class DrillError(Exception):
    pass


class Drill:
    """A running drill. Call :meth:`start`, then per question :meth:`submit` and :meth:`grade`
    (or let :meth:`tick` time it out); :meth:`pause`/:meth:`resume`; :meth:`abandon` to stop.
    Every answer is written to ``drill_answers`` as it is graded; the end writes the report and
    applies the boosts."""

    def __init__(self, store: Store, deckset: DeckSet, plan: DrillPlan) -> None:
        self.store = store
        self.deckset = deckset
        self.plan = plan
        self.items = {i.item_id: i for i in items_for(deckset)}
        self.notes: list[str] = []
        missing = [q.item_id for q in plan.questions if q.kind != "lab" and q.item_id not in self.items]
        if missing:
            self.notes.append(f"skipped {len(missing)} planned card(s) no longer in the decks: {', '.join(missing)}")
        self.questions: list[PlannedQuestion] = [q for q in plan.questions if q.kind == "lab" or q.item_id in self.items]
        self.lab_pending = plan.lab_budget_ms > 0 and not any(q.kind == "lab" for q in self.questions)
        self.lab: LabSection | None = None
        self.records: list[AnswerRecord] = []
        self.phase: Phase = "ready"
        self.drill_id: int | None = None
        self.started: datetime | None = None
        self.finished: datetime | None = None
        self.paused_ms = 0
        self.pause_started: datetime | None = None
        self._waiting_pause = False
        self._q_start_active = 0
        self._q_elapsed = 0
        self._typed = ""
        self.evaluation: Evaluation | None = None
        self.report: DrillReport | None = None
        self.status = "running"

    # ---- lab ----------------------------------------------------------------
    def add_lab(self, section: Any, now: datetime | None = None) -> None:
        """Append the lab's questions (any time before the drill ends)."""
        section = as_lab_section(section)
        if self.phase == "finished":
            return
        qs = list(section.questions)[:MAX_LAB_QUESTIONS]
        self.lab = section
        self.lab_pending = False
        topic = section.topics[0] if section.topics else f"lab:{section.name}"
        self.plan.lab = {"name": section.name, "topics": list(section.topics), "note": section.note}
        if section.note:
            self.notes.append(section.note)
        if not qs:
            self.notes.append(f"lab {section.name} gave no questions")
        budget = int(self.plan.lab_budget_ms / len(qs)) if qs else 0
        base = len(self.questions)
        new = [PlannedQuestion(base + k, "lab", f"lab:{section.name}:{q.id}", topic, budget, 0.0, q.to_dict())
               for k, q in enumerate(qs)]
        self.questions.extend(new)
        self.plan.questions = [*self.plan.questions, *new]
        self._save_plan()
        if self.phase == "waiting" and now is not None:
            self._leave_waiting(now)

    def drop_lab(self, note: str, now: datetime | None = None) -> None:
        """The lab could not run: note why and go on without it."""
        self.lab_pending = False
        self.notes.append(note)
        self.plan.lab = {"name": None, "topics": [], "note": note}
        self._save_plan()
        if self.phase == "waiting" and now is not None:
            self._leave_waiting(now)

    def _leave_waiting(self, now: datetime) -> None:
        if self._waiting_pause:
            self._waiting_pause = False
            self.resume(now)
        self._show_next(now)

    # ---- clocks -------------------------------------------------------------
    @property
    def total_ms(self) -> int:
        return int(self.plan.minutes * 60_000)

    def paused_total_ms(self, now: datetime) -> int:
        extra = _ms(now - self.pause_started) if self.pause_started is not None else 0
        return self.paused_ms + extra

    def active_ms(self, now: datetime) -> int:
        if self.started is None:
            return 0
        end = self.finished or now
        return max(0, _ms(end - self.started) - self.paused_total_ms(end))

    def remaining_ms(self, now: datetime) -> int:
        """The drill countdown."""
        return max(0, self.total_ms - self.active_ms(now))

    def question_elapsed_ms(self, now: datetime) -> int:
        if self.phase == "answering":
            return self.active_ms(now) - self._q_start_active
        return self._q_elapsed

    def question_budget_ms(self, now: datetime) -> int:
        """The current question's budget, cut to what is left of the drill."""
        q = self.current_question
        if q is None:
            return 0
        return min(q.budget_ms, self.question_elapsed_ms(now) + self.remaining_ms(now))

    def question_remaining_ms(self, now: datetime) -> int:
        return max(0, self.question_budget_ms(now) - self.question_elapsed_ms(now))

    @property
    def paused(self) -> bool:
        return self.pause_started is not None

    def pause(self, now: datetime) -> None:
        aware(now)
        if self.phase in ("ready", "finished") or self.paused:
            return
        self.pause_started = now

    def resume(self, now: datetime) -> None:
        if self.pause_started is None:
            return
        self.paused_ms += max(0, _ms(now - self.pause_started))
        self.pause_started = None

    # ---- flow ---------------------------------------------------------------
    @property
    def current_index(self) -> int:
        return len(self.records)

    @property
    def current_question(self) -> PlannedQuestion | None:
        i = self.current_index
        return self.questions[i] if i < len(self.questions) else None

    def start(self, now: datetime) -> None:
        aware(now)
        if self.phase != "ready":
            raise DrillError("drill already started")
        self.started = now
        with self.store.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO drills (seed, started, minutes, topics, plan, paused_ms, status) VALUES (?,?,?,?,?,?,?)",
                [self.plan.seed, now.isoformat(), self.plan.minutes, json.dumps(list(self.plan.topics)),
                 json.dumps(self.plan.to_dict()), 0, "running"],
            )
            self.drill_id = int(cur.lastrowid)
        self._show_next(now)

    def _save_plan(self) -> None:
        if self.drill_id is None:
            return
        with self.store.transaction() as conn:
            conn.execute("UPDATE drills SET plan = ? WHERE id = ?", [json.dumps(self.plan.to_dict()), self.drill_id])

    def _show_next(self, now: datetime) -> None:
        self.evaluation = None
        if self.current_question is not None:
            self.phase = "answering"
            self._q_start_active = self.active_ms(now)
            self._q_elapsed = 0
            if self.remaining_ms(now) <= 0:
                self._time_out_rest(now, "")
            return
        if self.lab_pending:
            self.phase = "waiting"
            if not self.paused:
                self.pause(now)
                self._waiting_pause = True
            return
        self._finish(now, "finished")

    def view(self) -> QuestionView | None:
        q = self.current_question
        if q is None or self.phase not in ("answering", "grading"):
            return None
        options: list[str] = []
        source = hint = ""
        long_answer = q.kind == "explain"
        if q.kind == "lab":
            lq = question_from_dict(q.lab_question or {})
            prompt, hint = lq.prompt, lq.answer_hint()
            long_answer = isinstance(lq, FreeText)
            if isinstance(lq, MultipleChoice):
                options = list(lq.options)
            source = f"lab {self.lab.name if self.lab else q.item_id.split(':')[1]}"
        else:
            item = self.items[q.item_id]
            prompt = item.question()
            if item.card.type == "choice":
                options = [item.card.options[i].text for i in self.option_order(q)]
                hint = "type the number of your option"
            source = item.card.source
        return QuestionView(q.idx, self.current_index + 1, len(self.questions), q.kind, q.topic, prompt, options,
                            q.budget_ms, source, q.item_id, hint, long_answer)

    def option_order(self, q: PlannedQuestion) -> list[int]:
        """Shown order of a choice card's options in this drill (shuffled by the drill's seed)."""
        card = self.items[q.item_id].card
        return option_order(q.item_id, len(card.options), f"drill-{self.plan.seed}")

    def tick(self, now: datetime, typed: str = "") -> bool:
        """Time out the current question if its budget (or the drill) ran out. True if something changed."""
        if self.phase != "answering" or self.paused:
            return False
        if self.question_remaining_ms(now) > 0:
            return False
        self._time_out(now, typed)
        return True

    def _time_out(self, now: datetime, typed: str) -> None:
        q = self.current_question
        assert q is not None
        elapsed = self.question_budget_ms(now)
        self._record(q, typed, None, elapsed, "timed_out", now)
        if self.remaining_ms(now) <= 0:
            self._time_out_rest(now, "")
        else:
            self._show_next(now)

    def _time_out_rest(self, now: datetime, typed: str) -> None:
        while self.current_question is not None:
            self._record(self.current_question, typed or None, None, 0, "timed_out", now)
            typed = ""
        self.lab_pending = False
        self._finish(now, "timed out")

    def submit(self, answer: str, now: datetime) -> Evaluation | None:
        """Submit the typed answer. Returns what to show for grading, or None if it came too late
        (the question is then recorded as timed out and the drill moved on)."""
        aware(now)
        if self.phase != "answering":
            raise DrillError(f"cannot submit while {self.phase}")
        if self.paused:
            raise DrillError("resume the drill first")
        if self.question_remaining_ms(now) <= 0:
            self._time_out(now, answer)
            return None
        q = self.current_question
        assert q is not None
        self._q_elapsed = self.question_elapsed_ms(now)
        self._typed = answer
        self.evaluation = self._evaluate(q, answer)
        self.phase = "grading"
        return self.evaluation

    def _evaluate(self, q: PlannedQuestion, answer: str) -> Evaluation:
        if q.kind == "lab":
            lq = question_from_dict(q.lab_question or {})
            source = f"lab {q.item_id.split(':')[1]}"
            if isinstance(lq, FreeText):
                auto = set(lq.covered(answer))
                return Evaluation("points", lq.model_answer, list(lq.key_points),
                                  [i in auto for i in range(len(lq.key_points))], None, lq.explanation, source)
            g = lq.grade(answer)
            return Evaluation("auto", lq.answer_text(), auto_score=g.score, feedback=g.feedback, source=source)
        item = self.items[q.item_id]
        card = item.card
        if q.kind == "explain":
            return Evaluation("points", card.back, [p.text for p in card.key_points], pretick(card.key_points, answer),
                              source=card.source)
        if q.kind == "choice":
            order = self.option_order(q)
            mc = MultipleChoice(card.id, card.front, card.back, tuple(card.options[i].text for i in order),
                                order.index(card.correct_index))
            g = mc.grade(answer)
            why = "\n".join(f"{pos}. {card.options[i].why}" for pos, i in enumerate(order, 1) if card.options[i].why)
            head = "Correct." if g.correct else f"Wrong: the answer is {mc.answer_text()}."
            return Evaluation("auto", mc.answer_text(), auto_score=g.score,
                              feedback="\n".join(x for x in (head, why, card.back) if x), source=card.source)
        return Evaluation("self", item.answer(), source=card.source)

    def grade(self, now: datetime, *, ticked: Sequence[bool] | None = None, self_grade: str | float | None = None) -> AnswerRecord:
        """Confirm the evaluation: ``ticked`` key points (default: the pre-ticked ones) or a
        ``self_grade`` ('right' | 'partly' | 'wrong' or 0..1) for recall; auto-graded kinds need nothing."""
        if self.phase != "grading" or self.evaluation is None:
            raise DrillError("nothing to grade")
        ev = self.evaluation
        q = self.current_question
        assert q is not None
        points: list[dict[str, Any]] = []
        if ev.mode == "points":
            ticks = list(ev.ticked if ticked is None else ticked)
            if len(ticks) != len(ev.points):
                raise DrillError(f"expected {len(ev.points)} ticks, got {len(ticks)}")
            score = points_score(ticks)
            points = [{"text": t, "covered": bool(c)} for t, c in zip(ev.points, ticks)]
        elif ev.mode == "self":
            if self_grade is None:
                raise DrillError("mark the answer right, partly or wrong")
            score = SELF_GRADES[self_grade] if isinstance(self_grade, str) else float(self_grade)
            if not 0 <= score <= 1:
                raise DrillError("self grade must be within 0..1")
        else:
            score = float(ev.auto_score or 0.0)
        rec = self._record(q, self._typed, score, self._q_elapsed, "answered", now, points)
        if self.remaining_ms(now) <= 0:
            self._time_out_rest(now, "")
        else:
            self._show_next(now)
        return rec

    def abandon(self, now: datetime) -> DrillReport:
        """Stop now: the question on screen and the rest are recorded as unanswered."""
        if self.phase == "finished":
            assert self.report is not None
            return self.report
        if self.phase == "ready":
            self.start(now)
        typed: str | None = None
        if self.phase == "grading":
            ev = self.evaluation
            if ev is not None and ev.mode != "self":  # already answered and gradable without the user
                self.grade(now)
            else:  # not self-graded yet: kept as unanswered, with what was typed
                typed = self._typed
        if self.phase == "finished":
            assert self.report is not None
            return self.report
        elapsed = self.question_elapsed_ms(now) if self.phase in ("answering", "grading") else 0
        first = True
        while self.current_question is not None:
            self._record(self.current_question, typed if first else None, None, elapsed if first else 0,
                         "unanswered", now)
            first = False
        self.lab_pending = False
        self._finish(now, "stopped")
        assert self.report is not None
        return self.report

    # ---- storage / report ---------------------------------------------------
    def _reference(self, q: PlannedQuestion) -> tuple[str, str, str]:
        """(prompt, reference answer, source)"""
        if q.kind == "lab":
            lq = question_from_dict(q.lab_question or {})
            return lq.prompt, lq.answer_text(), f"lab {q.item_id.split(':')[1]}: {lq.explanation}"
        item = self.items[q.item_id]
        ref = item.card.back if q.kind == "explain" else item.answer()
        if q.kind == "choice":
            ref = item.card.options[item.card.correct_index].text
        return item.question(), ref, item.card.source

    def _record(self, q: PlannedQuestion, answer: str | None, score: float | None, elapsed: int, status: str,
                now: datetime, points: list[dict[str, Any]] | None = None) -> AnswerRecord:
        prompt, ref, source = self._reference(q)
        if status == "timed_out":
            score = 0.0
        if not points and q.kind in ("explain", "lab") and status != "answered":
            pts = self._point_texts(q)
            points = [{"text": t, "covered": False} for t in pts]
        rec = AnswerRecord(q.idx, q.kind, q.item_id, q.topic, prompt, answer, score, max(0, int(elapsed)),
                           q.budget_ms, status, points or [], ref, source)  # type: ignore[arg-type]
        # saved first, kept in memory second: if the write fails the drill stays on this question
        if self.drill_id is not None:
            with self.store.transaction() as conn:
                conn.execute(
                    """INSERT INTO drill_answers (drill_id, idx, item_id, kind, topic, prompt, answer, points, score,
                       elapsed_ms, timed_out, ts) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)""",
                    [self.drill_id, q.idx, q.item_id, q.kind, q.topic, prompt, answer, json.dumps(points or []),
                     score, rec.elapsed_ms, int(status == "timed_out"), now.isoformat()],
                )
        self.records.append(rec)
        return rec

    def _point_texts(self, q: PlannedQuestion) -> list[str]:
        if q.kind == "lab":
            lq = question_from_dict(q.lab_question or {})
            return list(lq.key_points) if isinstance(lq, FreeText) else []
        return [p.text for p in self.items[q.item_id].card.key_points]

    def _finish(self, now: datetime, status: str) -> None:
        if self.phase == "finished":
            return
        self.resume(now)
        self.phase = "finished"
        self.finished = now
        self.status = status
        report = build_report(self.store, self, now)
        with self.store.transaction() as conn:
            conn.execute(
                "UPDATE drills SET finished=?, report=?, paused_ms=?, score=?, status=?, plan=? WHERE id=?",
                [now.isoformat(), json.dumps(report.to_dict()), self.paused_ms, report.score, status,
                 json.dumps(self.plan.to_dict()), self.drill_id],
            )
        report.boosted = apply_boosts(self.store, self.deckset, report.topics, now, self.lab.name if self.lab else None,
                                      self.lab.topics if self.lab else ())
        with self.store.transaction() as conn:
            conn.execute("UPDATE drills SET report=? WHERE id=?", [json.dumps(report.to_dict()), self.drill_id])
        self.report = report


def _mean(xs: Sequence[float]) -> float | None:
    return round(sum(xs) / len(xs), 4) if xs else None


def topic_scores(records: Sequence[AnswerRecord]) -> dict[str, float | None]:
    by: dict[str, list[float]] = defaultdict(list)
    order: list[str] = []
    for r in records:
        if r.topic not in by:
            order.append(r.topic)
        by[r.topic]
        if r.score is not None:
            by[r.topic].append(r.score)
    return {t: _mean(by[t]) for t in order}


def build_report(store: Store, drill: Drill, now: datetime) -> DrillReport:
    recs = drill.records
    scored = [r.score for r in recs if r.score is not None]
    score = _mean(scored)
    topics = topic_scores(recs)
    missed: list[MissedPoint] = []
    for r in recs:
        if r.status == "unanswered":
            continue
        if r.points:
            missed += [MissedPoint(r.idx, r.topic, r.item_id, p["text"], r.source) for p in r.points if not p["covered"]]
        elif (r.score or 0) < 1:
            missed.append(MissedPoint(r.idx, r.topic, r.item_id, f"{r.prompt} -> {r.reference}", r.source))
    trend = _trend(store, drill.drill_id or 0, score, topics)
    notes = list(drill.notes)
    unanswered = sum(r.status == "unanswered" for r in recs)
    if unanswered:
        notes.append(f"{unanswered} question(s) unanswered (not scored)")
    return DrillReport(
        drill.drill_id or 0, drill.plan.seed, drill.started.isoformat() if drill.started else "", now.isoformat(),
        drill.plan.minutes, drill.status, score, drill.active_ms(now), drill.paused_ms, topics, list(recs), missed,
        trend, {}, notes,
    )


def _trend(store: Store, drill_id: int, score: float | None, topics: dict[str, float | None]) -> Trend:
    rows = store.db.execute(
        "SELECT id, started, score, report FROM drills WHERE id < ? AND score IS NOT NULL ORDER BY id DESC LIMIT 20",
        [drill_id],
    ).fetchall()
    previous = [(r[0], r[1], r[2]) for r in rows[:5]][::-1]
    delta = round(score - previous[-1][2], 4) if previous and score is not None else None
    topic_delta: dict[str, float] = {}
    for t, s in topics.items():
        if s is None:
            continue
        for r in rows:
            rep = json.loads(r[3]) if r[3] else {}
            prev = (rep.get("topics") or {}).get(t)
            if prev is not None:
                topic_delta[t] = round(s - prev, 4)
                break
    return Trend(previous, delta, topic_delta)


def apply_boosts(store: Store, deckset: DeckSet, topics: dict[str, float | None], now: datetime,
                 lab_name: str | None = None, lab_topics: Sequence[str] = ()) -> dict[str, int]:
    """The boost rule (module docstring). Returns, per missed topic, how many items moved earlier."""
    missed = {t for t, s in topics.items() if s is not None and s < BOOST_BELOW}
    if not missed:
        return {}
    due = now + BOOST_WITHIN
    states = store.states()
    out: dict[str, int] = {t: 0 for t in sorted(missed)}
    targets: dict[str, str] = {}
    for item in items_for(deckset):
        hit = [t for t in item_topics(item) if t in missed]
        if hit:
            targets.setdefault(item.item_id, hit[0])
    if lab_name and (missed & set(lab_topics) or f"lab:{lab_name}" in missed):
        targets[f"lab:{lab_name}"] = next(iter(sorted(missed & set(lab_topics))), f"lab:{lab_name}")
    for item_id, topic in sorted(targets.items()):
        s = states.get(item_id)
        if s is None or s.phase == "new" or s.suspended:
            continue
        before = s.due
        store.boost(item_id, now, due)
        if before is None or before > due:
            out[topic] = out.get(topic, 0) + 1
    return out


# --------------------------------------------------------------------------- text report / history


def _fmt_ms(ms: int) -> str:
    s = max(0, int(round(ms / 1000)))
    return f"{s // 60}:{s % 60:02d}"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.0%}"


def format_report(r: DrillReport) -> str:
    lines = [f"Drill #{r.drill_id} ({r.status}): score {_pct(r.score)}",
             f"time {_fmt_ms(r.active_ms)} of {_fmt_ms(int(r.minutes * 60_000))}, paused {_fmt_ms(r.paused_ms)}, seed {r.seed}"]
    width = max([len(t) for t in r.topics] + [len(a.topic) for a in r.answers] + [5])
    lines.append("\nScore per topic:")
    for t, s in r.topics.items():
        d = r.trend.topic_delta.get(t)
        lines.append(f"  {t:<{width}} {_pct(s):>5}" + (f"  ({d:+.0%} vs last)" if d is not None else ""))
    lines.append("\nTime per question:")
    for a in r.answers:
        mark = {"answered": _pct(a.score), "timed_out": "timeout", "unanswered": "skipped"}[a.status]
        lines.append(f"  {a.idx + 1:>2}. {a.kind:<7} {a.topic:<{width}} {_fmt_ms(a.elapsed_ms):>5} / "
                     f"{_fmt_ms(a.budget_ms):<5} {mark}")
    if r.missed:
        lines.append("\nPoints missed (read):")
        for m in r.missed:
            src = f"  [{m.source}]" if m.source else ""
            lines.append(f"  {m.idx + 1:>2}. {m.text}{src}")
    lines.append("\nTrend:")
    if r.trend.previous:
        prev = "  ".join(f"#{i} {_pct(s)}" for i, _, s in r.trend.previous)
        delta = f"{r.trend.delta:+.0%}" if r.trend.delta is not None else "-"
        lines.append(f"  previous: {prev}  -> now {_pct(r.score)} (delta {delta})")
    else:
        lines.append("  first drill")
    if r.boosted:
        lines.append("\nTopics under 60%, their seen cards now due within a day: "
                     + ", ".join(f"{t} ({n} cards moved)" for t, n in r.boosted.items()))
    for n in r.notes:
        lines.append(f"note: {n}")
    return "\n".join(lines)


@dataclass
class DrillSummary:
    id: int
    started: str
    minutes: float
    score: float | None
    status: str
    topics: dict[str, float | None]
    paused_ms: int


def drill_history(store: Store, limit: int | None = None) -> list[DrillSummary]:
    """Past drills, newest first."""
    sql = "SELECT id, started, minutes, score, status, report, paused_ms FROM drills ORDER BY id DESC"
    rows = store.db.execute(sql + (f" LIMIT {int(limit)}" if limit else "")).fetchall()
    out = []
    for r in rows:
        rep = json.loads(r[5]) if r[5] else {}
        out.append(DrillSummary(r[0], r[1], r[2], r[3], r[4], rep.get("topics") or {}, r[6] or 0))
    return out


def load_report(store: Store, drill_id: int) -> DrillReport | None:
    row = store.db.execute("SELECT report FROM drills WHERE id = ?", [drill_id]).fetchone()
    return DrillReport.from_dict(json.loads(row[0])) if row and row[0] else None


def load_plan(store: Store, drill_id: int) -> DrillPlan | None:
    """The stored plan of a past drill, without its lab questions (for replaying it)."""
    row = store.db.execute("SELECT plan FROM drills WHERE id = ?", [drill_id]).fetchone()
    if not row or not row[0]:
        return None
    plan = DrillPlan.from_dict(json.loads(row[0]))
    plan.questions = [q for q in plan.questions if q.kind != "lab"]
    plan.lab = None
    return plan


# --------------------------------------------------------------------------- interview status


@dataclass
class InterviewStatus:
    days_left: int | None
    """Days from today to the interview (``config set interview-date``); negative once past; None if unset."""
    topics: list[tuple[str, float]]
    """(topic, coverage 0..1) sorted by topic: the share of the topic's items that have graduated
    to the review phase (learned at least once and not currently lapsed)."""
    date: date | None = None


def interview_status(store: Store, deckset: DeckSet, now: datetime) -> InterviewStatus:
    aware(now)
    raw = store.get_config("interview-date")
    day = date.fromisoformat(raw) if raw else None
    states = store.states()
    by: dict[str, list[bool]] = defaultdict(list)
    for item in items_for(deckset):
        s = states.get(item.item_id)
        for t in item_topics(item):
            by[t].append(s is not None and s.phase == "review")
    topics = [(t, round(sum(v) / len(v), 4) if v else 0.0) for t, v in sorted(by.items())]
    return InterviewStatus((day - now.date()).days if day else None, topics, day)

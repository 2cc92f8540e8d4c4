"""A running drill (:class:`Drill`): the question flow, timeouts, grading, and saving every answer.

The drill countdown and the question clock (:mod:`.clock`) run on active time. A question whose
clock reaches its budget (or the drill countdown reaching 0) is *timed out*: score 0, whatever was
typed is kept, the drill goes on (when the drill countdown is out, every remaining question is timed
out and the drill ends). Pauses stop both clocks and their total is in the report. Time spent
waiting for the lab to finish is counted as a pause.

Every answer is saved (:mod:`.records`) before it is kept in memory: if the write fails, the drill
stays on that question and the same grade can be tried again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from mi_prep.core.deck import DeckSet
from mi_prep.core.drill import evaluation as E
from mi_prep.core.drill.clock import DrillClocks, Phase
from mi_prep.core.drill.evaluation import SELF_GRADES, Evaluation, QuestionView, points_score
from mi_prep.core.drill.lab_section import MAX_LAB_QUESTIONS, LabOutcome, LabSection, LabSkipped
from mi_prep.core.drill.plan import DrillPlan, PlannedQuestion
from mi_prep.core.drill.records import answer_record, save_answer, save_report
from mi_prep.core.drill.report import AnswerRecord, AnswerStatus, DrillReport
from mi_prep.core.scheduling import aware
from mi_prep.core.session import ReviewItem, items_for
from mi_prep.core.store import Store
from mi_prep.core.store import drills as drill_rows

__all__ = ["Drill", "DrillError", "Phase"]


class DrillError(Exception):
    pass


class Drill(DrillClocks):
    """A running drill. Call :meth:`start`, then per question :meth:`submit` and :meth:`grade`
    (or let :meth:`tick` time it out); :meth:`pause`/:meth:`resume`; :meth:`abandon` to stop.
    The lab part arrives through :meth:`use_lab` (any time before the end). Every answer is written
    to ``drill_answers`` as it is graded; the end writes the report and applies the boosts."""

    def __init__(self, store: Store, deckset: DeckSet, plan: DrillPlan) -> None:
        super().__init__()
        self.store = store
        self.deckset = deckset
        self.plan = plan
        self.items = {i.item_id: i for i in items_for(deckset)}
        self.notes: list[str] = []
        missing = [q.item_id for q in plan.questions if q.kind != "lab" and q.item_id not in self.items]
        if missing:
            self.notes.append(f"skipped {len(missing)} planned card(s) no longer in the decks: {', '.join(missing)}")
        self.questions: list[PlannedQuestion] = [
            q for q in plan.questions if q.kind == "lab" or q.item_id in self.items
        ]
        self.lab_pending = plan.lab_budget_ms > 0 and not any(q.kind == "lab" for q in self.questions)
        self.lab: LabSection | None = None
        self.records: list[AnswerRecord] = []
        self.phase: Phase = "ready"
        self.drill_id: int | None = None
        self._waiting_pause = False
        self._typed = ""
        self.evaluation: Evaluation | None = None
        self.report: DrillReport | None = None
        self.status = "running"

    # ---- lab ----------------------------------------------------------------
    def use_lab(self, outcome: LabOutcome, now: datetime | None = None) -> None:
        """The lab provider's outcome: a section's questions are appended, a skip is noted."""
        if isinstance(outcome, LabSkipped):
            self.drop_lab(outcome, now)
        else:
            self.add_lab(outcome, now)

    def add_lab(self, section: LabSection, now: datetime | None = None) -> None:
        """Append the lab's questions (any time before the drill ends)."""
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
        new = [
            PlannedQuestion(base + k, "lab", f"lab:{section.name}:{q.id}", topic, budget, 0.0, q.to_dict())
            for k, q in enumerate(qs)
        ]
        self.questions.extend(new)
        self.plan.questions = [*self.plan.questions, *new]
        self._save_plan()
        if self.phase == "waiting" and now is not None:
            self._leave_waiting(now)

    def drop_lab(self, skipped: LabSkipped, now: datetime | None = None) -> None:
        """The lab could not run: note why and go on without it."""
        self.lab_pending = False
        self.notes.append(skipped.note)
        self.plan.lab = {"name": None, "topics": [], "note": skipped.note}
        self._save_plan()
        if self.phase == "waiting" and now is not None:
            self._leave_waiting(now)

    def _leave_waiting(self, now: datetime) -> None:
        if self._waiting_pause:
            self._waiting_pause = False
            self.resume(now)
        self._show_next(now)

    # ---- flow ---------------------------------------------------------------
    @property
    def current_index(self) -> int:
        return len(self.records)

    @property
    def current_question(self) -> PlannedQuestion | None:
        i = self.current_index
        return self.questions[i] if i < len(self.questions) else None

    @property
    def can_submit(self) -> bool:
        """Whether :meth:`submit` takes an answer now (a question is on show and the drill is not paused)."""
        return self.phase == "answering" and not self.paused

    @property
    def grading_mode(self) -> Literal["points", "self", "auto"] | None:
        """While an answer waits for :meth:`grade`: how it is graded (the :class:`Evaluation`'s
        ``mode``: ``points``, ``self`` or ``auto``); None otherwise."""
        return self.evaluation.mode if self.phase == "grading" and self.evaluation is not None else None

    @property
    def unanswered_count(self) -> int:
        """Questions not yet recorded (what stopping now would leave unanswered)."""
        return len(self.questions) - self.current_index

    def start(self, now: datetime) -> None:
        aware(now)
        if self.phase != "ready":
            raise DrillError("drill already started")
        self.started = now
        self.drill_id = drill_rows.insert_drill(
            self.store,
            seed=self.plan.seed,
            started=now,
            minutes=self.plan.minutes,
            topics=self.plan.topics,
            plan=self.plan.to_dict(),
        )
        self._show_next(now)

    def _save_plan(self) -> None:
        if self.drill_id is None:
            return
        drill_rows.save_plan(self.store, self.drill_id, self.plan.to_dict())

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

    def _item(self, q: PlannedQuestion) -> ReviewItem | None:
        """The deck item of ``q``; None for a lab question."""
        return None if q.kind == "lab" else self.items[q.item_id]

    def view(self) -> QuestionView | None:
        q = self.current_question
        if q is None or self.phase not in ("answering", "grading"):
            return None
        return E.question_view(
            q,
            self._item(q),
            self.plan.seed,
            self.current_index + 1,
            len(self.questions),
            self.lab.name if self.lab else None,
        )

    def option_order(self, q: PlannedQuestion) -> list[int]:
        """Shown order of a choice card's options in this drill (shuffled by the drill's seed)."""
        return E.shuffled_options(self.items[q.item_id], self.plan.seed)

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
        self.evaluation = E.evaluate(q, self._item(q), self.plan.seed, answer)
        self.phase = "grading"
        return self.evaluation

    def grade(
        self, now: datetime, *, ticked: Sequence[bool] | None = None, self_grade: str | float | None = None
    ) -> AnswerRecord:
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
            self._record(
                self.current_question, typed if first else None, None, elapsed if first else 0, "unanswered", now
            )
            first = False
        self.lab_pending = False
        self._finish(now, "stopped")
        assert self.report is not None
        return self.report

    # ---- records / report -------------------------------------------------
    def _record(
        self,
        q: PlannedQuestion,
        answer: str | None,
        score: float | None,
        elapsed: int,
        status: AnswerStatus,
        now: datetime,
        points: list[dict[str, Any]] | None = None,
    ) -> AnswerRecord:
        rec = answer_record(q, self._item(q), answer, score, elapsed, status, points)
        # saved first, kept in memory second: if the write fails the drill stays on this question
        if self.drill_id is not None:
            save_answer(self.store, self.drill_id, rec, now)
        self.records.append(rec)
        return rec

    def _finish(self, now: datetime, status: str) -> None:
        if self.phase == "finished":
            return
        self.resume(now)
        self.phase = "finished"
        self.finished = now
        self.status = status
        self.report = save_report(self.store, self, now)

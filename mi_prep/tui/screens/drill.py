"""The Drill screen: a timed mock interview (recall, explain, one lab) ending with a report.

Constructor::

    DrillScreen(
        store,                    # mi_prep.core.store.Store
        deckset,                  # mi_prep.core.deck.DeckSet
        *,
        clock=None,               # () -> aware datetime; default: the local wall clock
        seed=None,                # int; default: a random one (shown, stored, replayable)
        minutes=30.0,             # length of the whole drill
        topics=None,              # list of topic tags to draw from (default: all)
        questions=8,              # deck questions, besides the lab
        lab_provider=DEFAULT_LAB, # (topics, seed, *, on_progress, cancel) -> LabSection | LabSkipped
                                  # (mi_prep.core.drill.LabProvider); DEFAULT_LAB runs a real lab (small
                                  # settings, a cached model: mi_prep.lab.drill_provider); None: no lab part
        plan=None,                # a DrillPlan to use instead of drawing one (e.g. a replay)
        tick_seconds=0.5,         # how often the countdowns refresh
    )

Push it from any app (``app.push_screen(DrillScreen(...), callback)``); when closed it dismisses
with the :class:`~mi_prep.core.drill.DrillReport` (or None if never started). Used as an app's only
screen it exits the app with the report instead.

What it does: an intro (plan summary, the lab's progress while it prepares, Start); then per
question a header with the question number, kind, topic and two countdowns (question and whole
drill), the prompt, the answer format, choice options (shuffled for this drill) and a text area.
Ctrl+S (or Submit) submits exactly what is in the text area; then the model answer is shown and,
for explain / free-text questions, the key points as a checklist pre-ticked by the key-point
grader (Up/Down and ``x`` change the ticks, Enter goes on); recall answers are self-graded
Right / Partly / Wrong (``r`` / ``p`` / ``w``); choice and lab numeric questions are auto-graded.
Lab questions are shown under the lab run's results (tables, heatmaps, plots; PageUp/PageDown
scroll them). F2 pauses (the question is hidden and the clocks stop). Escape in the text area only
leaves it; Escape elsewhere (or Stop) asks before stopping the drill, with the clocks stopped while
it asks. When a question's time runs out it is marked timed out and the next one appears. The lab
runs in a worker thread while you answer; if its questions are not ready when the deck questions
are done, the clocks wait (the status line says so and shows the lab's progress). A lab that could
not run is skipped with its reason (a warning, the intro and the report say why). At the end: the
report (score per topic, time per question, points missed with sources, trend against earlier
drills).

All time comes from ``clock``; :meth:`DrillScreen.tick` (also run by a timer) applies timeouts,
so tests drive it with a fake clock. The panels are widgets (``mi_prep.tui.widgets.drill_*``:
``DrillStatus``, ``DrillIntro``, ``DrillLab`` (it also runs the lab's worker), ``DrillQuestion``,
``DrillEvaluation``, ``DrillReportPanel``; ``ConfirmStopDrill`` asks before stopping); the rules
are all in :mod:`mi_prep.core.drill`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Button, TextArea

from mi_prep.core import drill as D
from mi_prep.core.deck import DeckSet
from mi_prep.core.store import Store
from mi_prep.tui.messages import LabProgress
from mi_prep.tui.storage import guarded
from mi_prep.tui.widgets.drill_evaluation import DrillEvaluation
from mi_prep.tui.widgets.drill_intro import DrillIntro
from mi_prep.tui.widgets.drill_lab import DrillLab
from mi_prep.tui.widgets.drill_question import DrillQuestion
from mi_prep.tui.widgets.drill_report import DrillReportPanel
from mi_prep.tui.widgets.drill_status import DrillStatus
from mi_prep.tui.widgets.drill_stop import ConfirmStopDrill
from mi_prep.tui.widgets.footer import AppFooter

DEFAULT_LAB = "default"


class DrillScreen(Screen[Any]):
    DEFAULT_CSS = """
    DrillScreen { padding: 0 1; }
    #drill-status { height: 1; background: $boost; text-style: bold; }
    #drill-status.paused { background: $warning 40%; }
    #drill-status.urgent { background: $error 40%; }
    #drill-lab { height: 1fr; min-height: 6; border-bottom: solid $accent; }
    #drill-question { height: auto; max-height: 70%; }
    #drill-eval { height: auto; max-height: 70%; }
    #drill-report, #drill-intro { height: auto; }
    .hidden { display: none; }
    """
    BINDINGS = [
        # not a priority binding: it must reach the screen after the keys typed before it
        Binding("ctrl+s", "submit", "Submit"),
        Binding("f2", "toggle_pause", "Pause/resume", priority=True),
        Binding("escape", "escape", "Leave box / stop"),
        Binding("enter", "next", "Next", show=False),
        Binding("r", "self_grade('right')", "Right", show=False),
        Binding("p", "self_grade('partly')", "Partly", show=False),
        Binding("w", "self_grade('wrong')", "Wrong", show=False),
        Binding("pagedown", "scroll_lab('down')", "Scroll results", show=False, priority=True),
        Binding("pageup", "scroll_lab('up')", "Scroll results", show=False, priority=True),
    ]

    def __init__(
        self,
        store: Store,
        deckset: DeckSet,
        *,
        clock: Callable[[], datetime] | None = None,
        seed: int | None = None,
        minutes: float = D.DEFAULT_MINUTES,
        topics: Sequence[str] | None = None,
        questions: int = D.DEFAULT_QUESTIONS,
        lab_provider: Any = DEFAULT_LAB,
        plan: D.DrillPlan | None = None,
        tick_seconds: float = 0.5,
        name: str | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id)
        self.store = store
        self.deckset = deckset
        self.clock = clock or (lambda: datetime.now().astimezone())
        if lab_provider == DEFAULT_LAB:
            from mi_prep.lab.drill_provider import make_lab_provider

            lab_provider = make_lab_provider()
        self.lab_provider: D.LabProvider | None = lab_provider
        if plan is None:
            plan = D.seeded_plan(
                store,
                deckset,
                self.clock(),
                seed,
                minutes=minutes,
                topics=topics,
                n_questions=questions,
                with_lab=lab_provider is not None,
            )
        self.plan = plan
        self.drill = D.Drill(store, deckset, plan)
        self.tick_seconds = tick_seconds
        self.lab_status = "no lab part" if not plan.lab_budget_ms else "preparing the lab ..."
        self.lab_cancel = threading.Event()
        self._rendered_idx: int | None = None
        self._asking = False

    # ---- layout -------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield DrillStatus(id="drill-status")
        yield DrillIntro(id="drill-intro")
        yield DrillLab(id="drill-lab", classes="hidden")
        yield DrillQuestion(id="drill-question", classes="hidden")
        yield DrillEvaluation(id="drill-eval", classes="hidden")
        yield DrillReportPanel(id="drill-report", classes="hidden")
        yield AppFooter()

    def on_mount(self) -> None:
        self._render_intro()
        if self.plan.lab_budget_ms and self.lab_provider is not None:
            self.query_one(DrillLab).prepare(
                self.lab_provider,
                self.plan.lab_topics,
                self.plan.seed,
                on_progress=self._post_progress,
                cancel=self.lab_cancel,
                done=self._lab_done,
            )
        self.set_interval(self.tick_seconds, self.tick)
        self.query_one("#drill-start", Button).focus()

    def on_unmount(self) -> None:
        self.lab_cancel.set()  # a drill closed while its lab trains stops the training

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        d = self.drill
        if action == "submit":
            return d.can_submit
        if action == "next":
            return d.grading_mode not in (None, "self")
        if action == "self_grade":
            return d.grading_mode == "self"
        if action == "scroll_lab":
            return not self.query_one(DrillLab).has_class("hidden")
        return True

    # ---- lab part (the DrillLab panel runs the worker) ----------------------
    def _post_progress(self, progress: Any) -> None:  # called in the worker thread
        self.post_message(LabProgress(progress))

    def on_lab_progress(self, message: LabProgress) -> None:
        if self.drill.lab is not None or self.drill.phase == "finished":
            return
        self.lab_status = D.lab_progress_text(message.progress)
        self._refresh()

    def _lab_done(self, outcome: D.LabOutcome) -> None:
        self.drill.use_lab(outcome, self.clock() if self.drill.phase != "ready" else None)
        self.lab_status = D.lab_status_text(outcome)
        if isinstance(outcome, D.LabSkipped):
            self.notify(self.lab_status, severity="warning", markup=False)
        elif outcome.blocks:
            self.query_one(DrillLab).show_result(outcome.blocks)
        self._refresh()

    # ---- rendering ----------------------------------------------------------
    def _show(self, section: str) -> None:
        for sid in ("drill-intro", "drill-question", "drill-eval", "drill-report"):
            self.query_one(f"#{sid}").set_class(sid != section, "hidden")
        v = self.drill.view()
        lab_shown = v is not None and v.kind == "lab" and self.query_one(DrillLab).has_result
        self.query_one(DrillLab).set_class(not lab_shown or section not in ("drill-question", "drill-eval"), "hidden")
        self.refresh_bindings()

    def _render_intro(self) -> None:
        self.query_one(DrillIntro).show_plan(self.plan, self.lab_status)
        self.query_one(DrillStatus).show_ready(self.drill)

    def _refresh(self) -> None:
        d = self.drill
        if d.phase == "ready":
            self._render_intro()
        elif d.phase == "finished":
            self._render_report()
        elif d.phase == "waiting":
            self._show("drill-intro")
            self.query_one(DrillIntro).show_waiting(self.lab_status)
            self._render_status()
        elif d.phase == "answering":
            if self._rendered_idx != d.current_index:
                self._render_question()
            self._render_status()
        else:
            self._render_status()

    def _render_status(self) -> None:
        d = self.drill
        self.query_one(DrillStatus).show(d, self.clock(), self.lab_status)
        # the question hides while paused; while grading, the eval below shows the typed answer instead
        self.query_one(DrillQuestion).set_class(d.phase != "answering" or d.paused, "hidden")

    def _render_question(self) -> None:
        v = self.drill.view()
        assert v is not None
        self._rendered_idx = self.drill.current_index
        self._show("drill-question")
        self.query_one(DrillQuestion).show(v)

    def _render_eval(self, ev: D.Evaluation) -> None:
        self._show("drill-eval")
        v = self.drill.view()
        self.query_one(DrillEvaluation).show(ev, v.prompt if v else "", self._answer().text.strip())
        self._render_status()

    def _render_report(self) -> None:
        self._show("drill-report")
        self.query_one(DrillReportPanel).show(self.drill.report)
        self.query_one(DrillStatus).show_finished(self.drill.report)

    def _answer(self) -> TextArea:
        return self.query_one(DrillQuestion).answer

    # ---- clock --------------------------------------------------------------
    def tick(self) -> None:
        """Apply timeouts and refresh the countdowns (a timer calls this; tests call it directly)."""
        d = self.drill
        if d.phase == "answering":
            before = d.current_index
            if d.tick(self.clock(), typed=self._answer().text):
                over = " (drill over)" if d.phase == "finished" else ""
                self.notify(f"Time's up: question {before + 1} marked timed out{over}", severity="warning")
                self._refresh()
                return
        if d.phase in ("answering", "grading", "waiting"):
            self._render_status()

    # ---- actions ------------------------------------------------------------
    def action_start(self) -> None:
        if self.drill.phase != "ready":
            return
        if guarded(self.app, self.drill.start, self.clock())[0]:
            self._refresh()

    def action_submit(self) -> None:
        d = self.drill
        if not d.can_submit:
            return
        planned = d.questions[d.current_index] if 0 <= d.current_index < len(d.questions) else None
        ev = d.submit(self._answer().text, self.clock())
        if planned is not None and planned.kind == "lab" and planned.lab_question:
            self.query_one(DrillLab).reveal(str(planned.lab_question.get("id", "")))
        if ev is None:
            self.notify("Time's up: marked timed out", severity="warning")
            self._refresh()
            return
        self._answer().read_only = True
        self._render_eval(ev)

    def action_toggle_pause(self) -> None:
        d = self.drill
        if d.phase not in ("answering", "grading") or self._asking:
            return
        if d.paused:
            d.resume(self.clock())
        else:
            d.pause(self.clock())
        self._render_status()
        if not d.paused and d.phase == "answering":
            self._answer().focus()

    def action_escape(self) -> None:
        if isinstance(self.focused, TextArea):
            self.query_one("#drill-submit", Button).focus()  # Esc only leaves the box
            return
        self.action_stop()

    def action_stop(self) -> None:
        d = self.drill
        if d.phase in ("ready", "finished"):
            self.action_close()
            return
        if self._asking:
            return
        left = d.unanswered_count
        paused_here = not d.paused
        if paused_here:
            d.pause(self.clock())  # the clocks wait while the user decides
            self._render_status()
        self._asking = True

        def decided(stop: bool | None) -> None:
            self._asking = False
            if stop:
                guarded(self.app, d.abandon, self.clock())
            elif paused_here:
                d.resume(self.clock())
            self._refresh()

        self.app.push_screen(ConfirmStopDrill(left), decided)

    def action_next(self) -> None:
        self.grade(None)

    def action_self_grade(self, grade: str) -> None:
        self.grade(grade)

    def action_scroll_lab(self, direction: str) -> None:
        self.query_one(DrillLab).scroll_page(direction)

    def grade(self, self_grade: str | None = None) -> None:
        d = self.drill
        mode = d.grading_mode
        if mode is None or (mode == "self" and self_grade is None):
            return
        if d.paused:
            d.resume(self.clock())
        ticked = self.query_one(DrillEvaluation).ticks() if mode == "points" else None
        if not guarded(self.app, d.grade, self.clock(), ticked=ticked, self_grade=self_grade)[0]:
            return  # not saved: the evaluation stays on screen and the same key tries again
        self._refresh()

    def action_close(self) -> None:
        report = self.drill.report
        self.lab_cancel.set()
        if len(self.app.screen_stack) > 1 and self.app.screen is self:
            self.dismiss(report)
        else:
            self.app.exit(report)

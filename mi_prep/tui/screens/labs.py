"""Labs screen: list labs, run one in a thread worker (progress, live loss, Esc cancels), show the
results, then ask the questions one by one and save the score (and schedule ``lab:NAME``).

Keys: in the list Enter or ``r`` runs the highlighted lab, ``s`` toggles small settings, Escape goes
Home. While the questions are open ``r`` does nothing; PageUp/PageDown scroll the results (the
answer box keeps the focus); a choice question takes its option's number (or Up/Down and Enter);
other questions take typed answers and Enter. After a free-text answer the key points are shown
pre-ticked by the key-point grader: Up/Down and ``x`` change the ticks, Enter confirms. Escape with
questions still open asks first: answers already given are saved either way.

The lab list shows each lab's last score, mastery and when it is next due; ``LabsScreen(...,
start=NAME)`` runs a lab at once (Home's "run the due lab" key).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Button, DataTable, Header, Input, OptionList, Static

from mi_prep.core.due_text import lab_due_text
from mi_prep.core.questions import FreeText, Grade, MultipleChoice, Question
from mi_prep.core.scheduling import Rating
from mi_prep.core.today import lab_item_id
from mi_prep.lab.api import Lab
from mi_prep.tui.messages import LabFinished
from mi_prep.tui.widgets.confirm import Confirm
from mi_prep.tui.widgets.footer import AppFooter
from mi_prep.tui.widgets.lab_list import LabTable, lab_detail
from mi_prep.tui.widgets.lab_questions import LabQuestionPanel, answer_feedback
from mi_prep.tui.widgets.lab_run_panel import LabRunPanel


class LabsScreen(Screen):
    BINDINGS = [
        Binding("escape", "back_or_cancel", "Back"),
        Binding("r", "run_selected", "Run"),
        Binding("s", "toggle_small", "Small settings"),
        Binding("pagedown", "scroll_results('down')", "Scroll results", show=False, priority=True),
        Binding("pageup", "scroll_results('up')", "Scroll results", show=False, priority=True),
        Binding("enter", "confirm_points", "Confirm points", show=False),
    ]
    DEFAULT_CSS = """
    LabsScreen #lab-table { height: 1fr; }
    LabsScreen #lab-detail { height: auto; padding: 0 1; border-top: solid $accent; }
    LabsScreen #run-panel { height: auto; padding: 0 1; }
    LabsScreen #results { height: 1fr; min-height: 6; }
    LabsScreen #question-panel { height: auto; max-height: 60%; padding: 0 1; border-top: solid $accent;
                                 overflow-y: auto; }
    LabsScreen .hidden { display: none; }
    """

    def __init__(
        self,
        store: Any,
        now_fn: Callable[[], datetime],
        *,
        labs: dict[str, Lab] | None = None,
        seed: int = 0,
        small: bool = False,
        cache_dir: Any = None,
        device: str | None = None,
        start: str | None = None,
        threads: int | str | None = None,
    ) -> None:
        super().__init__()
        self.threads = threads
        self.store = store
        self.now_fn = now_fn
        self._labs = labs
        self.seed = seed
        self.small = small
        self.cache_dir = cache_dir
        self.device = device
        self.start_with = start
        self.running: str | None = None
        self.run_id: int | None = None
        self.current_run: Any = None
        self.questions: list[Question] = []
        self.q_index = 0
        self.scores: list[float] = []
        self.answered = False
        """The current question has been answered (its feedback is showing)."""
        self.pending_free: tuple[FreeText, str] | None = None
        """A free-text answer waiting for the user to confirm its key points."""
        self.final_score: float | None = None
        self.state = "list"  # list | running | questions | done

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Header()
        yield LabTable(id="lab-table", cursor_type="row")
        yield Static("", id="lab-detail")
        yield LabRunPanel(id="run-panel", classes="hidden")
        yield Vertical(id="results", classes="hidden")
        yield LabQuestionPanel(id="question-panel", classes="hidden")
        yield AppFooter()

    @property
    def labs(self) -> dict[str, Lab]:
        if self._labs is None:
            from mi_prep.lab import registry

            self._labs = registry.discover()
        return self._labs

    def on_mount(self) -> None:
        self.refresh_table()
        self.query_one("#lab-table", DataTable).focus()
        if self.start_with in self.labs:
            self.start(self.start_with)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("run_selected", "toggle_small"):
            return self.state == "list"  # a stray r while answering must not throw the run away
        if action == "scroll_results":
            return self.state in ("questions", "done")
        if action == "confirm_points":
            return self.pending_free is not None
        return True

    def refresh_table(self) -> None:
        from mi_prep.lab import history

        try:
            summ = history.summaries(self.store, self.labs) if self.store is not None else {}
        except Exception:  # noqa: BLE001 - a broken history table must not hide the labs
            summ = {}
        now = self.now_fn()
        self.query_one(LabTable).show_labs(self.labs, summ, lambda name: self._due_text(name, now))
        self._show_detail()

    def _due_text(self, name: str, now: datetime) -> str:
        state_fn = getattr(self.store, "state", None)
        return lab_due_text(state_fn(lab_item_id(name)) if state_fn else None, now)

    def _cursor_lab(self) -> str | None:
        """Name of the lab under the table's cursor."""
        return self.query_one(LabTable).cursor_name(list(self.labs))

    def _show_detail(self, name: str | None = None) -> None:
        name = name or self._cursor_lab()
        if name is None:
            return
        self.query_one("#lab-detail", Static).update(lab_detail(self.labs[name], self.small))

    @on(DataTable.RowHighlighted, "#lab-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key is not None and event.row_key.value in self.labs:
            self._show_detail(str(event.row_key.value))

    # ------------------------------------------------------------------ running

    def action_toggle_small(self) -> None:
        self.small = not self.small
        self.notify(f"Small settings {'on' if self.small else 'off'}")
        self._show_detail()

    @on(DataTable.RowSelected, "#lab-table")
    def _selected(self, event: DataTable.RowSelected) -> None:
        if self.state == "list":
            self.start(str(event.row_key.value))

    def action_run_selected(self) -> None:
        name = self._cursor_lab()
        if self.state == "list" and name is not None:
            self.start(name)

    def start(self, name: str) -> None:
        if self.state != "list":
            return
        lab = self.labs[name]
        self.running = name
        self.state = "running"
        self.query("#lab-table, #lab-detail, #results, #question-panel").add_class("hidden")
        self.query_one("#run-panel").remove_class("hidden")
        settings = "small settings, " if self.small else ""
        self.query_one(LabRunPanel).run(
            lab,
            f"Running {lab.title} ({settings}seed {self.seed}) - Esc cancels",
            seed=self.seed,
            small=self.small,
            device=self.device,
            cache_dir=self.cache_dir,
            threads=self.threads,
        )
        self.refresh_bindings()

    def on_lab_finished(self, message: LabFinished) -> None:
        from mi_prep.lab import history

        run = message.run
        self.query_one("#run-panel").add_class("hidden")
        if run is None:
            self.notify(message.error, title="Lab unavailable", severity="error", timeout=10)
            self.back_to_list()
            return
        self.current_run = run
        self.run_id = self._save("the run", history.save_run, self.store, run) if self.store is not None else None
        if run.status == "cancelled":
            self.notify("Lab cancelled.")
            self.back_to_list()
            return
        if run.status != "done":
            self.notify(run.error.splitlines()[0] if run.error else "failed", title="Lab failed", severity="error")
            self.back_to_list()
            return
        self.show_results(run.result)
        self.questions = list(run.result.questions)
        self.q_index = 0
        self.scores = []
        if self.questions:
            self.state = "questions"
            self.query_one("#question-panel").remove_class("hidden")
            self.show_question()
        else:
            self.finish()
        self.refresh_bindings()

    def _save(self, what: str, write: Callable[..., Any], *args: Any) -> Any:
        """A lab-history write; when it fails the user is warned and the lab goes on (None)."""
        try:
            return write(*args)
        except Exception as exc:  # noqa: BLE001
            self.notify(f"could not save {what}: {exc}", severity="warning")
            return None

    def show_results(self, result: Any) -> None:
        from mi_prep.tui.widgets.lab_view import LabResultView

        box = self.query_one("#results")
        box.remove_children()
        box.mount(LabResultView(result, staged=bool(result.questions), id="result-view"))
        box.remove_class("hidden")

    def action_scroll_results(self, direction: str) -> None:
        for view in self.query("#result-view"):
            (view.scroll_page_down if direction == "down" else view.scroll_page_up)(animate=False)

    def action_back_or_cancel(self) -> None:
        if self.state == "running":
            self.query_one(LabRunPanel).cancel()
            return
        if self.state == "questions":
            left = len(self.questions) - len(self.scores)
            saved = f"Your {len(self.scores)} answer(s) so far are saved. " if self.scores else ""
            self.app.push_screen(
                Confirm(
                    f"Leave this lab with {left} question(s) unanswered? {saved}The run will not be scored.",
                    yes="Leave",
                    no="Keep answering",
                ),
                lambda leave: self.back_to_list() if leave else None,
            )
            return
        if self.state == "done":
            self.back_to_list()
            return
        self.app.pop_screen()

    def back_to_list(self) -> None:
        self.state = "list"
        self.running = None
        self.pending_free = None
        self.query("#results, #question-panel, #run-panel").add_class("hidden")
        self.query("#lab-table, #lab-detail").remove_class("hidden")
        self.refresh_table()
        self.query_one("#lab-table", DataTable).focus()
        self.refresh_bindings()

    # ------------------------------------------------------------------ questions

    def show_question(self) -> None:
        self.answered = False
        self.pending_free = None
        self.query_one(LabQuestionPanel).show_question(
            self.questions[self.q_index], self.q_index + 1, len(self.questions)
        )
        self.refresh_bindings()

    def on_key(self, event) -> None:
        """A choice question takes its option's number."""
        if self.state != "questions" or self.answered or self.q_index >= len(self.questions):
            return
        q = self.questions[self.q_index]
        if isinstance(q, MultipleChoice) and event.key.isdigit() and 1 <= int(event.key) <= min(9, len(q.options)):
            event.prevent_default()
            event.stop()
            self.answer(event.key)

    @on(OptionList.OptionSelected, "#choices")
    def _choice(self, event: OptionList.OptionSelected) -> None:
        if self.state == "questions" and not self.answered:
            self.answer(str(event.option_index + 1))

    @on(Button.Pressed, "#next")
    def _next(self, event: Button.Pressed) -> None:
        event.stop()
        self.next_question()

    @on(Input.Submitted, "#answer")
    def _submitted(self, event: Input.Submitted) -> None:
        if self.state == "questions" and not self.answered and self.pending_free is None:
            self.answer(event.value)

    def answer(self, text: str) -> None:
        q = self.questions[self.q_index]
        if isinstance(q, FreeText):
            self._ask_points(q, text)
            return
        self.record(q, text, q.grade(text))

    def _ask_points(self, q: FreeText, text: str) -> None:
        """Show the model answer and the key points pre-ticked from ``text``; Enter confirms."""
        auto = set(q.covered(text))
        self.pending_free = (q, text)
        self.query_one(LabQuestionPanel).ask_points(q, [i in auto for i in range(len(q.key_points))])
        self.refresh_bindings()

    def action_confirm_points(self) -> None:
        if self.pending_free is None:
            return
        q, text = self.pending_free
        ticks = self.query_one(LabQuestionPanel).ticks()
        self.pending_free = None
        self.record(q, text, q.grade(text, [i for i, t in enumerate(ticks) if t]))

    def record(self, q: Question, answer: str, grade: Grade) -> None:
        from mi_prep.lab import history
        from mi_prep.tui.widgets.lab_view import LabResultView

        self.answered = True
        self.scores.append(grade.score)
        if self.store is not None and self.run_id is not None:
            self._save("the answer", history.save_answer, self.store, self.run_id, q.id, answer, grade, self.now_fn())
        last = self.q_index + 1 >= len(self.questions)
        revealed = sum(view.reveal(q.id) for view in self.query("#result-view").results(LabResultView))
        note = "\n(The results above now show what this answer unlocks: PgUp/PgDn.)" if revealed else ""
        self.query_one(LabQuestionPanel).show_feedback(
            answer_feedback(q, answer, grade) + note, "Finish (Enter)" if last else "Next (Enter)"
        )
        self.refresh_bindings()

    def next_question(self) -> None:
        if not self.answered:
            return
        self.q_index += 1
        if self.q_index < len(self.questions):
            self.show_question()
            return
        self.finish()

    def finish(self) -> None:
        from mi_prep.lab import history
        from mi_prep.lab.runner import run_score

        score = run_score(self.scores)
        rating = None
        if self.store is not None and self.run_id is not None and self.running:
            rating = self._save(
                "the score", history.finish_run, self.store, self.run_id, self.running, score, self.now_fn()
            )
        self.state = "done"
        self.final_score = score
        line = f"Score: {score:.0%} over {len(self.scores)} question(s)"
        if rating:
            due = self._due_text(self.running or "", self.now_fn())
            line += f" - scheduled for review ({Rating(rating).label}; next {due})"
        self.query_one(LabQuestionPanel).show_score(line + "\nEsc: back to the lab list")
        self.set_focus(None)
        self.refresh_bindings()

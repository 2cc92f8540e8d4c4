"""Labs screen: list labs, run one in a thread worker (progress, live loss, Esc cancels), show the
results, then ask the questions one by one and save the score (and schedule ``lab:NAME``)."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any, Callable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, DataTable, Footer, Header, Input, Label, ProgressBar, Static

from mi_prep.lab.api import Lab, LabUnavailable, Progress
from mi_prep.lab.questions import FreeText, MultipleChoice, Numeric, PickComponent, Question


class LabProgress(Message):
    def __init__(self, progress: Progress) -> None:
        super().__init__()
        self.progress = progress


class LabFinished(Message):
    def __init__(self, run: Any, error: str = "") -> None:
        super().__init__()
        self.run = run
        self.error = error


class LabsScreen(Screen):
    BINDINGS = [
        Binding("escape", "back_or_cancel", "Cancel / back"),
        Binding("r", "run_selected", "Run"),
        Binding("s", "toggle_small", "Small settings"),
    ]
    DEFAULT_CSS = """
    LabsScreen #lab-table { height: 1fr; }
    LabsScreen #lab-detail { height: auto; padding: 0 1; border-top: solid $accent; }
    LabsScreen #run-panel { height: auto; padding: 0 1; }
    LabsScreen #progress-line { height: 1; }
    LabsScreen #results { height: 1fr; }
    LabsScreen #question-panel { height: auto; max-height: 60%; padding: 0 1; border-top: solid $accent; }
    LabsScreen #feedback { color: $text-muted; }
    LabsScreen .hidden { display: none; }
    """

    def __init__(self, store: Any, now_fn: Callable[[], datetime], *, labs: dict[str, Lab] | None = None,
                 seed: int = 0, small: bool = False, cache_dir: Any = None, device: str | None = None) -> None:
        super().__init__()
        self.store = store
        self.now_fn = now_fn
        self._labs = labs
        self.seed = seed
        self.small = small
        self.cache_dir = cache_dir
        self.device = device
        self.cancel_event: threading.Event | None = None
        self.running: str | None = None
        self.run_id: int | None = None
        self.current_run: Any = None
        self.questions: list[Question] = []
        self.q_index = 0
        self.scores: list[float] = []
        self.pending_free: tuple[FreeText, str] | None = None
        self.state = "list"  # list | running | results | done

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(id="lab-table", cursor_type="row")
        yield Static("", id="lab-detail")
        with Vertical(id="run-panel", classes="hidden"):
            yield Label("", id="run-title")
            yield ProgressBar(id="progress", total=100, show_eta=False)
            yield Label("", id="progress-line")
        yield Vertical(id="results", classes="hidden")
        with Vertical(id="question-panel", classes="hidden"):
            yield Static("", id="question")
            yield Input(placeholder="your answer, then Enter", id="answer")
            with Horizontal(id="choices"):
                pass
            yield Static("", id="feedback")
            yield Button("Next", id="next", classes="hidden")
        yield Footer()

    @property
    def labs(self) -> dict[str, Lab]:
        if self._labs is None:
            from mi_prep.lab import registry

            self._labs = registry.discover()
        return self._labs

    def on_mount(self) -> None:
        self.refresh_table()
        self.query_one("#lab-table", DataTable).focus()

    def refresh_table(self) -> None:
        from mi_prep.lab import history

        table = self.query_one("#lab-table", DataTable)
        table.clear(columns=True)
        table.add_columns("lab", "topics", "last", "mastery")
        try:
            summ = history.summaries(self.store, self.labs) if self.store is not None else {}
        except Exception:
            summ = {}
        for name, lab in self.labs.items():
            s = summ.get(name)
            last = "-" if s is None or s.last_score is None else f"{s.last_score:.0%}"
            mastery = "-" if s is None or s.mastery is None else f"{s.mastery:.0%}"
            table.add_row(name, ", ".join(lab.topics[:2]), last, mastery, key=name)
        self._show_detail()

    def _cursor_lab(self) -> str | None:
        """Name of the lab under the table's cursor."""
        names = list(self.labs)
        return names[min(self.query_one("#lab-table", DataTable).cursor_row, len(names) - 1)] if names else None

    def _show_detail(self, name: str | None = None) -> None:
        name = name or self._cursor_lab()
        if name is None:
            return
        lab = self.labs[name]
        small = "  (small settings on: s toggles)" if self.small else ""
        self.query_one("#lab-detail", Static).update(Text.assemble(
            (lab.title, "bold"), small, "\n", lab.summary, "\n",
            (f"topics: {', '.join(lab.topics)} · Enter or r runs it", "dim")))

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
        self.start(str(event.row_key.value))

    def action_run_selected(self) -> None:
        name = self._cursor_lab()
        if self.state != "running" and name is not None:
            self.start(name)

    def start(self, name: str) -> None:
        if self.state == "running":
            return
        lab = self.labs[name]
        self.running = name
        self.state = "running"
        self.cancel_event = threading.Event()
        for wid in ("#lab-table", "#lab-detail"):
            self.query_one(wid).add_class("hidden")
        self.query_one("#run-panel").remove_class("hidden")
        self.query_one("#results").add_class("hidden")
        self.query_one("#question-panel").add_class("hidden")
        self.query_one("#run-title", Label).update(f"Running {lab.title} (seed {self.seed}) - Esc cancels")
        self.query_one("#progress", ProgressBar).update(total=100, progress=0)
        self.run_worker_for(lab)

    @work(thread=True, exclusive=True, group="lab")
    def run_worker_for(self, lab: Lab) -> None:
        from mi_prep.lab.runner import merge_params, run_lab

        try:
            params = merge_params(lab, small=self.small)
            run = run_lab(lab, seed=self.seed, device=self.device, params=params, cache_dir=self.cache_dir,
                          on_progress=lambda p: self.post_message(LabProgress(p)), cancel=self.cancel_event)
            self.post_message(LabFinished(run))
        except LabUnavailable as exc:
            self.post_message(LabFinished(None, str(exc)))
        except Exception as exc:  # pragma: no cover - shown to the user
            self.post_message(LabFinished(None, f"{type(exc).__name__}: {exc}"))

    def on_lab_progress(self, message: LabProgress) -> None:
        p = message.progress
        bar = self.query_one("#progress", ProgressBar)
        bar.update(total=max(1, p.total), progress=p.step)
        loss = f"  loss {p.loss:.3f}" if p.loss is not None else ""
        self.query_one("#progress-line", Label).update(f"{p.message}  step {p.step}/{p.total}{loss}")

    def on_lab_finished(self, message: LabFinished) -> None:
        from mi_prep.lab import history

        run = message.run
        self.query_one("#run-panel").add_class("hidden")
        if run is None:
            self.notify(message.error, title="Lab unavailable", severity="error", timeout=10)
            self.back_to_list()
            return
        self.current_run = run
        try:
            self.run_id = history.save_run(self.store, run) if self.store is not None else None
        except Exception as exc:  # pragma: no cover
            self.notify(f"could not save the run: {exc}", severity="warning")
            self.run_id = None
        if run.status == "cancelled":
            self.notify("Lab cancelled.")
            self.back_to_list()
            return
        if run.status != "done":
            self.notify(run.error.splitlines()[0] if run.error else "failed", title="Lab failed", severity="error")
            self.back_to_list()
            return
        self.state = "results"
        self.show_results(run.result)
        self.questions = list(run.result.questions)
        self.q_index = 0
        self.scores = []
        if self.questions:
            self.query_one("#question-panel").remove_class("hidden")
            self.show_question()

    def show_results(self, result: Any) -> None:
        from mi_prep.tui.widgets.lab_view import LabResultView

        box = self.query_one("#results")
        box.remove_children()
        box.mount(LabResultView(result))
        box.remove_class("hidden")

    def action_back_or_cancel(self) -> None:
        if self.state == "running" and self.cancel_event is not None:
            self.cancel_event.set()
            self.query_one("#progress-line", Label).update("cancelling...")
            return
        if self.state in ("results", "done"):
            self.back_to_list()
            return
        self.app.pop_screen()

    def back_to_list(self) -> None:
        self.state = "list"
        self.running = None
        self.query_one("#results").add_class("hidden")
        self.query_one("#question-panel").add_class("hidden")
        self.query_one("#run-panel").add_class("hidden")
        for wid in ("#lab-table", "#lab-detail"):
            self.query_one(wid).remove_class("hidden")
        self.refresh_table()
        self.query_one("#lab-table", DataTable).focus()

    # ------------------------------------------------------------------ questions

    def show_question(self) -> None:
        q = self.questions[self.q_index]
        text = f"Q{self.q_index + 1}/{len(self.questions)}. {q.prompt}"
        if isinstance(q, PickComponent):
            text += f"\ncomponents: {', '.join(q.components)}"
        if isinstance(q, Numeric) and q.unit:
            text += f"  ({q.unit})"
        self.query_one("#question", Static).update(text)
        self.query_one("#feedback", Static).update("")
        self.query_one("#next").add_class("hidden")
        choices = self.query_one("#choices", Horizontal)
        choices.remove_children()
        inp = self.query_one("#answer", Input)
        inp.value = ""
        self.pending_free = None
        if isinstance(q, MultipleChoice):
            inp.add_class("hidden")
            choices.mount(*[Button(f"{i + 1}. {opt}", id=f"choice-{i}") for i, opt in enumerate(q.options)])
            self.call_after_refresh(lambda: choices.children and choices.children[0].focus())
        else:
            inp.remove_class("hidden")
            inp.disabled = False
            inp.focus()

    @on(Button.Pressed)
    def _button(self, event: Button.Pressed) -> None:
        bid = event.button.id or ""
        if bid.startswith("choice-"):
            self.answer(str(int(bid.split("-")[1]) + 1))
        elif bid == "next":
            self.next_question()
        elif bid.startswith("kp-"):
            pass

    @on(Input.Submitted, "#answer")
    def _submitted(self, event: Input.Submitted) -> None:
        if self.pending_free is not None:  # second step of free text: the key points the user covered
            q, answer = self.pending_free
            sel = event.value.strip()
            ticked = None
            if sel:
                ticked = [int(x) - 1 for x in sel.replace(",", " ").split() if x.isdigit() and 1 <= int(x) <= len(q.key_points)]
            self.record(q, answer, q.grade(answer, ticked))
            return
        self.answer(event.value)

    def answer(self, text: str) -> None:
        q = self.questions[self.q_index]
        if isinstance(q, FreeText):
            auto = q.grade(text)
            lines = [f"[{'x' if i in auto.covered else ' '}] {i + 1}. {kp}" for i, kp in enumerate(q.key_points)]
            self.query_one("#feedback", Static).update(
                "Key points (x = found in your answer):\n" + "\n".join(lines)
                + f"\nModel answer: {q.model_answer}\nType the numbers you covered (e.g. 1,3) or Enter to accept.")
            self.pending_free = (q, text)
            inp = self.query_one("#answer", Input)
            inp.value = ""
            return
        self.record(q, text, q.grade(text))

    def record(self, q: Question, answer: str, grade: Any) -> None:
        from mi_prep.lab import history

        self.pending_free = None
        self.scores.append(grade.score)
        if self.store is not None and self.run_id is not None:
            try:
                history.save_answer(self.store, self.run_id, q.id, answer, grade, self.now_fn())
            except Exception:  # pragma: no cover
                pass
        mark = "✓" if grade.correct else "✗"
        self.query_one("#feedback", Static).update(f"{mark} {grade.feedback}")
        self.query_one("#answer", Input).disabled = True
        for b in self.query("#choices Button"):
            b.disabled = True
        nxt = self.query_one("#next", Button)
        nxt.label = "Next" if self.q_index + 1 < len(self.questions) else "Finish"
        nxt.remove_class("hidden")
        nxt.focus()

    def next_question(self) -> None:
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
            try:
                rating = history.finish_run(self.store, self.run_id, self.running, score, self.now_fn())
            except Exception as exc:  # pragma: no cover
                self.notify(f"could not save the score: {exc}", severity="warning")
        self.state = "done"
        self.final_score = score
        self.query_one("#question", Static).update(
            f"Score: {score:.0%}" + (f" - scheduled for review ({['Again', 'Hard', 'Good', 'Easy'][rating - 1]})" if rating else "")
            + "\nEsc: back to the lab list")
        self.query_one("#answer").add_class("hidden")
        self.query_one("#choices", Horizontal).remove_children()
        self.query_one("#next").add_class("hidden")
        self.query_one("#feedback", Static).update("")

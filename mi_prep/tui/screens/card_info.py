"""Card info (modal): the card's text, its scheduling state and its full history from the review log."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Button, DataTable, Markdown, Static

from mi_prep.core.scheduling import Rating, format_interval, shown_delta
from mi_prep.core.session import ReviewItem, items_for
from mi_prep.core.today import states_as_shown
from mi_prep.tui.screens.base import MiPrepModalScreen
from mi_prep.tui.widgets.mathmd import math_markdown


def _when(dt: datetime, now: datetime) -> str:
    return f"{dt.astimezone(now.tzinfo):%Y-%m-%d %H:%M}"


class CardInfoScreen(MiPrepModalScreen[None]):
    BINDINGS = [Binding("escape,i,q", "dismiss", "Close")]

    def __init__(self, item_id: str) -> None:
        super().__init__()
        self.item_id = item_id

    def _item(self) -> ReviewItem | None:
        return next((i for i in items_for(self.mi_app.deckset) if i.item_id == self.item_id), None)

    def compose(self) -> ComposeResult:
        with Vertical(id="info-dialog"):
            yield Static("", id="info-title")
            with VerticalScroll(id="info-body"):
                yield Static("", id="info-state")
                yield Markdown("", id="info-text")
                yield Static("History", classes="section-title")
                yield DataTable(id="info-history", cursor_type="row", zebra_stripes=True)
            yield Button("Close  (esc)", id="info-close", compact=True)

    async def on_mount(self) -> None:
        app = self.mi_app
        now = app.now()
        item = self._item()
        stored = app.store.state(self.item_id)
        known = {self.item_id: stored} if stored is not None else {}
        state = states_as_shown(app.store, [item] if item else [], known, now).get(self.item_id)  # sibling burial
        events = app.store.history(self.item_id)
        title = Text(f"Card info · {self.item_id}", style="bold")
        if item is not None:
            title.append(f"   {item.deck.deck.name} · {item.card.type} · {item.deck.path}:{item.line}", style="dim")
        self.query_one("#info-title", Static).update(title)

        st = Text()
        undone = {e.ref_id for e in events if e.kind == "undo"}
        done = [e for e in events if e.kind == "review" and e.id not in undone]
        if state is None or state.phase == "new":
            st.append("New (never answered)\n", style="bold #5fafff")
        else:
            due = state.due.astimezone(now.tzinfo) if state.due else None
            rel = ""
            if state.due:
                rel = f" (in {format_interval(shown_delta(state.due, now))})" if state.due > now else " (due now)"
            st.append(f"{state.phase.capitalize()}", style="bold")
            st.append(f"   due {due:%Y-%m-%d %H:%M}{rel}" if due else "   due -")
            st.append(f"   interval {state.interval:g}d   ease {state.ease:.0%}")
            if state.stability is not None:
                st.append(f"   stability {state.stability:.1f}d")
            st.append("\n")
        if state is not None:
            st.append(
                f"reviews {len(done)}   lapses {state.lapses}   reps in a row {state.reps}   "
                f"scheduler {state.scheduler}"
            )
            if state.suspended:
                st.append("   SUSPENDED", style="bold #ff5f5f")
            if state.leech:
                st.append(
                    f"   LEECH (lapsed {state.lapses} times: rewrite the card, then unsuspend it)", style="bold #ff5f5f"
                )
            if state.buried_until and state.buried_until > now:
                st.append(
                    f"   buried until {state.buried_until.astimezone(now.tzinfo):%Y-%m-%d %H:%M}", style="bold #ffaf00"
                )
            st.append("\n")
        if item is not None:
            tags = " ".join(f"#{t}" for t in item.tags) or "-"
            st.append(f"tags {tags}   source {item.card.source or '-'}", style="dim")
        else:
            st.append("This card is no longer in any loaded deck (its history is kept).", style="dim")
        self.query_one("#info-state", Static).update(st)

        if item is not None:
            body = f"**Front**\n\n{math_markdown(item.question())}\n\n---\n\n**Back**\n\n"
            if item.card.type == "choice":
                body += "\n".join(
                    f"- {'✓' if o.correct else '✗'} {math_markdown(o.text)}" + (f" — *{o.why}*" if o.why else "")
                    for o in item.card.options
                )
                body += "\n\n" + math_markdown(item.card.back)
            else:
                body += math_markdown(item.answer())
            if item.card.type == "explain":
                body += "\n\n**Key points**\n\n" + "\n".join(f"- {kp.text}" for kp in item.card.key_points)
            await self.query_one("#info-text", Markdown).update(body)

        table = self.query_one("#info-history", DataTable)
        table.add_columns("When", "Event", "Rating", "Interval", "Ease", "Time")
        for e in events:
            rating = Rating(e.rating).label if e.rating else ""
            if e.id in undone:
                rating = f"{rating} (undone)".strip()
            interval = f"{e.interval_after:g}d" if e.kind == "review" and e.interval_after is not None else ""
            ease = f"{e.ease:.0%}" if e.kind == "review" and e.ease else ""
            secs = f"{e.elapsed_ms / 1000:.0f}s" if e.elapsed_ms else ""
            table.add_row(_when(e.ts, now), e.kind, rating, interval, ease, secs)
        if not events:
            table.add_row("-", "no history yet", "", "", "", "")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss()

"""The small commands: check, schema, due, stats and config."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mi_prep.context import AppContext
from mi_prep.core.settings import SETTINGS, saved_note


def cmd_check(args: argparse.Namespace, app: AppContext) -> int:
    paths = [Path(p) for p in args.paths] or app.deck_paths
    ds = app.load_decks(paths, cache=not args.no_cache)
    for issue in ds.issues:
        app.print(str(issue))
    n_cards = sum(len(d.deck.cards) for d in ds.decks)
    app.print(f"{len(ds.decks)} decks, {n_cards} cards, {len(ds.errors)} errors, {len(ds.warnings)} warnings")
    if ds.errors or (args.strict and ds.warnings):
        return 1
    return 0


def cmd_schema(args: argparse.Namespace, app: AppContext) -> int:
    from mi_prep.core.deck import deck_json_schema_text

    text = deck_json_schema_text()
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
        app.print(f"wrote {args.output}")
    else:
        app.print(text)
    return 0


def _report_deck_errors(app: AppContext) -> None:
    for issue in app.decks.errors:
        app.print(f"! {issue}")


def cmd_due(args: argparse.Namespace, app: AppContext) -> int:
    from mi_prep.core.session import ReviewSession
    from mi_prep.core.today import due_by_deck

    _report_deck_errors(app)
    now = app.now()
    per = due_by_deck(app.store, app.decks, now)
    width = max([len(d.deck.name) for d in app.decks.decks] + [len("today (limits applied)")])
    app.print(f"{'deck':<{width}}  {'new':>5} {'learn':>5} {'due':>5}")
    for d in app.decks.decks:
        c = per[d.id]
        app.print(f"{d.deck.name:<{width}}  {c.new:>5} {c.learning:>5} {c.review:>5}")
    today = ReviewSession(app.store, app.decks, now).counts(now)
    app.print(f"{'today (limits applied)':<{width}}  {today.new:>5} {today.learning:>5} {today.review:>5}")
    return 0


def cmd_stats(args: argparse.Namespace, app: AppContext) -> int:
    from mi_prep.core.stats import MASTERY_HELP, RETENTION_HELP, compute, interview_cap_note

    if not 1 <= args.days <= 36_500:
        app.print("--days must be between 1 and 36500")
        return 2
    now = app.now()
    st = compute(app.store, app.decks, now, days=args.days)
    if args.json:
        app.print(
            json.dumps(
                {
                    "total_reviews": st.total_reviews,
                    "true_retention": st.true_retention,
                    "young_retention": st.young_retention,
                    "leeches": st.leeches,
                    "mastery_definition": MASTERY_HELP,
                    "mastery_days": st.mastery_days,
                    "retention_definition": RETENTION_HELP,
                    "reviews_per_day": [[d.isoformat(), n] for d, n in st.reviews_per_day],
                    "forecast": [[d.isoformat(), n] for d, n in st.forecast],
                    "topics": [
                        {
                            "topic": t.topic,
                            "cards": t.cards,
                            "seen": t.seen,
                            "mature": t.mature,
                            "reviews": t.reviews,
                            "lapses": t.lapses,
                            "retention": t.retention,
                            "mastery": t.mastery,
                        }
                        for t in st.topics
                    ],
                },
                indent=2,
            )
        )
        return 0
    pct = lambda x: "-" if x is None else f"{x:.0%}"  # noqa: E731
    app.print(f"Reviews: {st.total_reviews} total; items seen {st.seen_items}/{st.total_items}")
    if st.leeches:
        app.print(f"Leeches: {st.leeches} suspended after too many lapses (rewrite them; Browse, state 'leech')")
    app.print(
        f"True retention (mature, interval >= 21d): {pct(st.true_retention)} over {st.mature_reviews} reviews; "
        f"young: {pct(st.young_retention)}"
    )
    peak = max([n for _, n in st.reviews_per_day] + [1])
    n_days = len(st.reviews_per_day)
    app.print(f"\nReviews per day (last {n_days} day{'s' if n_days != 1 else ''}, oldest first):")
    for d, n in st.reviews_per_day:
        app.print(f"  {d.isoformat()} {'#' * round(20 * n / peak):<20} {n}")
    app.print("\nDue forecast (next 7 days):")
    for d, n in st.forecast[:7]:
        app.print(f"  {d.isoformat()} {n}")
    app.print("\nTopics:")
    width = max([len(t.topic) for t in st.topics] + [len("topic")])
    app.print(f"  {'topic':<{width}}  {'seen':>9}  {'mature':>6}  {'retention':>9}  {'mastery':>7}")
    for t in st.topics:
        app.print(
            f"  {t.topic:<{width}}  {f'{t.seen}/{t.cards}':>9}  {t.mature:>6}  {pct(t.retention):>9}  {t.mastery:>7.0%}"
        )
    app.print(f"\n{MASTERY_HELP}")
    cap_note = interview_cap_note(st.mastery_days)
    if cap_note:
        app.print(cap_note)
    app.print(RETENTION_HELP)
    return 0


def cmd_config(args: argparse.Namespace, app: AppContext) -> int:
    store = app.store
    if args.action == "list":
        stored = store.all_config()
        for setting in SETTINGS.values():
            value = stored.get(setting.name, setting.default)
            note = "" if setting.name in stored else "  (default)"
            if setting.name == "timezone" and value == "auto":
                zone = app.zone()
                note += f"  = {getattr(zone, 'key', zone)}"
            app.print(f"{setting.name} = {json.dumps(value)}{note}\n    {setting.doc}")
        for k, v in sorted(stored.items()):
            if k not in SETTINGS:
                app.print(f"{k} = {json.dumps(v)}  (not a mi-prep setting)")
        return 0
    key = args.key
    if key not in SETTINGS:
        app.print(f"unknown key '{key}'; known keys: {', '.join(sorted(SETTINGS))}")
        return 2
    if args.action == "get":
        app.print(json.dumps(store.get_config(key)))
        return 0
    if args.value is None:
        app.print("config set needs a value (use 'none' to clear)")
        return 2
    parse = SETTINGS[key].parse
    try:
        value = None if args.value.lower() == "none" else parse(args.value)
    except ValueError as exc:
        app.print(f"bad value for {key}: {exc}")
        return 2
    if key == "scheduler":
        n = store.set_scheduler(value or "sm2")
        app.print(f"scheduler = {value or 'sm2'} ({n} items rescheduled by replaying their history)")
        return 0
    store.set_config(key, value)
    app.print(f"{key} = {json.dumps(value)}")
    from mi_prep.core.scheduling import study_day

    warning = saved_note(key, value, study_day(app.now()))
    if warning:
        app.print(f"note: {warning}")
    return 0

"""Timed mock-interview drills: plan, clocks, scoring, report, history, scheduling feedback.

Pure logic: no Textual, no torch, no hidden clock. Every function that needs the time takes
``now`` (timezone-aware); randomness comes from a ``random.Random`` passed in (only
:func:`new_seed` draws a fresh seed). The CLI (``mi-prep drill``) and the TUI (``DrillScreen``)
both drive a :class:`Drill`; every SQL statement is in :mod:`mi_prep.core.store.drills`.

Modules (each docstring has the rules it implements):

* :mod:`.weights`: topic weights (retention, recent lapses, past drill scores) and item factors;
* :mod:`.plan`: :func:`make_plan` draws the questions and splits the minutes into budgets;
* :mod:`.lab_section`: a lab provider's outcome, :class:`LabSection` or :class:`LabSkipped`;
* :mod:`.evaluation`: what a question shows and how its answer is scored;
* :mod:`.run`: :class:`Drill`, the question flow (timeouts, pauses, grading, stopping);
* :mod:`.clock`: the drill countdown and the question clock, on active time (pauses excluded);
* :mod:`.records`: an answer's record, saving it, and at the end the report row and the boosts;
* :mod:`.report`: :class:`DrillReport`, topic scores, points missed, the trend, its text;
* :mod:`.boosts`: topics under 60% have their seen cards made due within a day;
* :mod:`.history`: past drills, stored reports and plans (replay);
* :mod:`.interview`: days to the interview date and per-topic coverage;
* :mod:`.topics`, :mod:`.text`: an item's topics; short texts both frontends show.

Use ``from mi_prep.core import drill as D``: every public name is re-exported here.
"""

from __future__ import annotations

from mi_prep.core.drill.boosts import BOOST_BELOW, BOOST_WITHIN, apply_boosts
from mi_prep.core.drill.evaluation import SELF_GRADES, Evaluation, QuestionView, points_score, pretick
from mi_prep.core.drill.history import DrillSummary, drill_history, load_plan, load_report
from mi_prep.core.drill.interview import InterviewStatus, interview_status
from mi_prep.core.drill.lab_section import (
    MAX_LAB_QUESTIONS,
    LabOutcome,
    LabProvider,
    LabSection,
    LabSkipped,
    fetch_lab,
    lab_progress_text,
    lab_status_text,
)
from mi_prep.core.drill.plan import (
    ANSWER_SHARE,
    DEFAULT_MINUTES,
    DEFAULT_QUESTIONS,
    EXPLAIN_SHARE,
    LAB_UNITS,
    UNITS,
    DrillPlan,
    Kind,
    PlannedQuestion,
    item_kind,
    make_plan,
    new_seed,
    seeded_plan,
)
from mi_prep.core.drill.report import (
    AnswerRecord,
    DrillReport,
    MissedPoint,
    Trend,
    build_report,
    format_report,
    topic_scores,
)
from mi_prep.core.drill.run import Drill, DrillError, Phase
from mi_prep.core.drill.text import format_clock, percent, plan_summary
from mi_prep.core.drill.topics import item_topics, known_topics
from mi_prep.core.drill.weights import (
    DRILLS_FOR_SCORE,
    DUE_FACTOR,
    LAPSES_FOR_MAX,
    NEUTRAL_DRILL_SCORE,
    NEW_FACTOR,
    RECENT_LAPSE_DAYS,
    SEEN_FACTOR,
    TopicWeight,
    item_factor,
    recent_drill_scores,
    topic_weight,
    topic_weights,
    weighted_sample,
)

__all__ = [
    # plan and weights
    "DEFAULT_MINUTES",
    "DEFAULT_QUESTIONS",
    "EXPLAIN_SHARE",
    "ANSWER_SHARE",
    "UNITS",
    "LAB_UNITS",
    "RECENT_LAPSE_DAYS",
    "LAPSES_FOR_MAX",
    "DRILLS_FOR_SCORE",
    "NEUTRAL_DRILL_SCORE",
    "DUE_FACTOR",
    "SEEN_FACTOR",
    "NEW_FACTOR",
    "Kind",
    "item_kind",
    "item_topics",
    "known_topics",
    "TopicWeight",
    "topic_weight",
    "item_factor",
    "recent_drill_scores",
    "topic_weights",
    "weighted_sample",
    "PlannedQuestion",
    "DrillPlan",
    "make_plan",
    "new_seed",
    "seeded_plan",
    # lab part
    "MAX_LAB_QUESTIONS",
    "LabSection",
    "LabSkipped",
    "LabOutcome",
    "LabProvider",
    "fetch_lab",
    "lab_status_text",
    "lab_progress_text",
    # running
    "SELF_GRADES",
    "QuestionView",
    "Evaluation",
    "pretick",
    "points_score",
    "Phase",
    "Drill",
    "DrillError",
    # report, history, boosts, interview
    "AnswerRecord",
    "MissedPoint",
    "Trend",
    "DrillReport",
    "topic_scores",
    "build_report",
    "format_report",
    "BOOST_BELOW",
    "BOOST_WITHIN",
    "apply_boosts",
    "DrillSummary",
    "drill_history",
    "load_report",
    "load_plan",
    "InterviewStatus",
    "interview_status",
    # texts
    "format_clock",
    "percent",
    "plan_summary",
]

"""SM-2: hand-computed sequences and property tests of its invariants."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mi_prep.core.scheduling import CardState, Rating, format_interval, next_day_start, preview, study_day
from mi_prep.core.scheduling.sm2 import EF_FLOOR, SM2, grade, next_ef, next_interval

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NEW = CardState("x")


def run(qualities, start=T0, gap_to_due=True):
    """Answer in sequence, each time at the moment the item is due (graded reviews on later days)."""
    s, now = NEW, start
    out = []
    for q in qualities:
        s = grade(s, q, now)
        out.append(s)
        now = s.due if gap_to_due else now
    return out


def test_ef_formula_matches_wozniak():
    # EF' = EF + (0.1 - (5-q)(0.08 + (5-q)0.02))
    assert next_ef(2.5, 5) == pytest.approx(2.6)
    assert next_ef(2.5, 4) == pytest.approx(2.5)
    assert next_ef(2.5, 3) == pytest.approx(2.36)
    assert next_ef(2.5, 2) == pytest.approx(2.18)
    assert next_ef(2.5, 0) == pytest.approx(1.7)
    assert next_ef(1.35, 3) == EF_FLOOR


def test_intervals_1_6_then_ceil_times_ef():
    assert [next_interval(n, p, 2.5) for n, p in [(1, 0), (2, 1), (3, 6), (4, 15)]] == [1, 6, 15, 38]
    assert next_interval(3, 6, 2.36) == 15  # 14.16 rounds up


def test_hand_computed_sequence_all_good():
    states = run([4, 4, 4, 4])
    assert [s.interval for s in states] == [1, 6, 15, 38]
    assert all(s.ease == pytest.approx(2.5) for s in states)
    assert states[-1].due == T0 + timedelta(days=1 + 6 + 15 + 38)


def test_hand_computed_sequence_easy_then_fail_keeps_ef():
    states = run([5, 5, 5, 1])
    assert [round(s.ease, 2) for s in states] == [2.6, 2.7, 2.8, 2.8]  # failure leaves EF unchanged
    assert [s.interval for s in states] == [1, 6, 17, 1]  # ceil(6*2.8)=17
    assert states[-1].reps == 0 and states[-1].lapses == 1 and states[-1].phase == "relearning"


def test_hard_goes_to_learning_queue_until_four():
    s = grade(NEW, 3, T0)  # Hard on a new card: passes (n=1) but repeats today
    assert (s.phase, s.reps, s.interval, s.due) == ("learning", 1, 1, T0 + timedelta(minutes=10))
    assert s.ease == pytest.approx(2.36)
    s2 = grade(s, 3, s.due)  # same-day repeat below 4: back in 10 minutes, nothing else changes
    assert (s2.phase, s2.reps, s2.ease, s2.interval) == ("learning", 1, s.ease, 1)
    assert s2.due == s.due + timedelta(minutes=10)
    s3 = grade(s2, 1, s2.due)  # a same-day fail is a drill too: back in 1 minute
    assert (s3.reps, s3.ease, s3.lapses) == (1, s.ease, 0) and s3.due == s2.due + timedelta(minutes=1)
    s4 = grade(s3, 4, s3.due)  # finally >= 4: leaves the queue, due after the scheduled interval
    assert (s4.phase, s4.reps, s4.ease) == ("review", 1, s.ease)
    assert s4.due == s3.due + timedelta(days=1)


def test_learning_item_left_overnight_is_graded_again():
    s = grade(NEW, 3, T0)
    later = T0 + timedelta(days=2)
    s2 = grade(s, 4, later)
    assert s2.reps == 2 and s2.interval == 6 and s2.phase == "review"


def test_four_buttons_map_to_quality():
    sched = SM2()
    assert sched.review(NEW, Rating.AGAIN, T0).phase == "learning"
    assert sched.review(NEW, Rating.HARD, T0).ease == pytest.approx(2.36)
    assert sched.review(NEW, Rating.GOOD, T0).ease == pytest.approx(2.5)
    assert sched.review(NEW, Rating.EASY, T0).ease == pytest.approx(2.6)


def test_interval_cap():
    s = run([4, 4, 4])[-1]
    capped = grade(s, 4, s.due, max_interval=10)
    assert capped.interval == 10 and capped.due == s.due + timedelta(days=10)
    assert grade(s, 4, s.due, max_interval=0.2).interval == 1


def test_preview_labels():
    pv = preview(SM2(), NEW, T0)
    assert [format_interval(pv[r]) for r in Rating] == ["1m", "10m", "1d", "1d"]
    s = run([4, 4])[-1]
    pv = preview(SM2(), s, s.due)
    assert [format_interval(pv[r]) for r in Rating] == ["1m", "10m", "15d", "16d"]


def test_naive_datetime_refused():
    with pytest.raises(ValueError, match="naive"):
        grade(NEW, 4, datetime(2026, 1, 1))


def test_study_day_rollover_and_timezones():
    tz = timezone(timedelta(hours=-5))
    late = datetime(2026, 3, 2, 2, 30, tzinfo=tz)  # 02:30 local counts as the previous study day
    assert study_day(late).isoformat() == "2026-03-01"
    assert next_day_start(late) == datetime(2026, 3, 2, 4, 0, tzinfo=tz)
    assert study_day(datetime(2026, 3, 2, 4, 0, tzinfo=tz)).isoformat() == "2026-03-02"


qualities = st.lists(st.integers(min_value=0, max_value=5), min_size=1, max_size=40)
gaps = st.lists(st.floats(min_value=0, max_value=90), min_size=40, max_size=40)


@settings(max_examples=300, deadline=None)
@given(qualities, gaps)
def test_invariants(qs, gap_days):
    s, now = NEW, T0
    for q, gap in zip(qs, gap_days):
        before = s
        s = grade(s, q, now)
        assert s.ease >= EF_FLOOR - 1e-12
        assert s.interval >= 1
        assert s.due > now
        graded = not (
            before.phase in ("learning", "relearning")
            and before.last_review is not None
            and study_day(before.last_review) == study_day(now)
        )
        if graded and q < 3:
            assert s.reps == 0 and s.interval == 1 and s.ease == before.ease  # reset, EF untouched
        if graded and q >= 3:
            assert s.reps == before.reps + 1
            waited = (
                (study_day(now) - study_day(before.last_review)).days
                if before.phase == "review" and before.last_review is not None
                else None
            )
            early = waited is not None and waited < before.interval
            if before.reps >= 2 and not early:
                assert s.interval >= before.interval  # EF >= 1.3 > 1: success never shrinks the interval
                if q >= 4:
                    assert s.interval > before.interval
            if before.reps >= 2 and early:  # based on the days actually waited, never more than on time
                assert waited is not None
                assert s.interval <= math.ceil(round(max(1, waited) * s.ease, 9))
        if not graded:
            assert (s.reps, s.ease, s.interval) == (before.reps, before.ease, before.interval)
        now = now + timedelta(days=gap)

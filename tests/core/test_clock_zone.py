"""The app's clock is in the user's IANA zone (not a fixed UTC offset), so study days follow daylight saving."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from mi_prep.context import AppContext, zone_for
from mi_prep.core.locations import system_zone_name
from mi_prep.core.scheduling import next_day_start, study_day


def test_system_zone_comes_from_tz(monkeypatch):
    monkeypatch.setenv("TZ", "Europe/Berlin")
    assert system_zone_name() == "Europe/Berlin"
    monkeypatch.setenv("TZ", ":America/New_York")
    assert system_zone_name() == "America/New_York"
    monkeypatch.setenv("TZ", "Not/AZone")
    assert system_zone_name() != "Not/AZone"  # falls back to /etc/localtime or None


def test_clock_is_in_the_iana_zone_and_the_setting_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("TZ", "Europe/Berlin")
    app = AppContext(tmp_path / "data", [])
    now = app.now()
    assert isinstance(now.tzinfo, ZoneInfo) and now.tzinfo.key == "Europe/Berlin"
    app.store.set_config("timezone", "America/New_York")
    app.forget_zone()
    assert app.now().tzinfo.key == "America/New_York"  # type: ignore[union-attr]
    app.store.set_config("timezone", "auto")
    app.forget_zone()
    assert app.now().tzinfo.key == "Europe/Berlin"  # type: ignore[union-attr]
    app.close_store()


def test_an_unknown_zone_name_falls_back_to_the_system_zone(monkeypatch):
    monkeypatch.setenv("TZ", "Europe/Berlin")
    assert zone_for("Mars/Olympus") == ZoneInfo("Europe/Berlin")
    assert zone_for(None) == ZoneInfo("Europe/Berlin")


def test_a_fixed_offset_clock_would_end_the_study_day_an_hour_early_across_fall_back():
    """What the IANA clock fixes: at 23:00 CEST before the autumn change, a fixed +02:00 offset puts the
    next study day at 03:00 CET; the zone puts it at 04:00 CET."""
    berlin = ZoneInfo("Europe/Berlin")
    late = datetime(2026, 10, 24, 23, 0, tzinfo=berlin)
    fixed = late.astimezone(timezone(timedelta(hours=2)))
    assert next_day_start(fixed).astimezone(berlin).hour == 3  # the old clock's bug
    start = next_day_start(late)
    assert start.astimezone(berlin).hour == 4
    assert start.astimezone(UTC) - late.astimezone(UTC) == timedelta(hours=6)  # 23:00 CEST -> 04:00 CET
    assert study_day(start) == study_day(late) + timedelta(days=1)

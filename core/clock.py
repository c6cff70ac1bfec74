"""Time helpers: the database stores naive UTC; people read local time."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from core.config import get_settings


def utcnow() -> dt.datetime:
    """Now, as naive UTC (the database's convention)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def today() -> dt.date:
    """The admin's calendar day: the one clock for dates that decide something (a
    provider's cut-off, a model's shutdown, the tense of a sentence about it)."""
    return local_day(utcnow())


def from_epoch_ms(ms: int) -> dt.datetime:
    """A JavaScript Date.now() value as naive UTC."""
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).replace(tzinfo=None)


def to_epoch_ms(value: dt.datetime) -> int:
    """Naive UTC to milliseconds since the epoch."""
    return int(value.replace(tzinfo=dt.UTC).timestamp() * 1000)


def local_zone() -> ZoneInfo:
    return ZoneInfo(get_settings().timezone)


def to_local(value: dt.datetime) -> dt.datetime:
    """Naive UTC to an aware datetime in the configured time zone."""
    return value.replace(tzinfo=dt.UTC).astimezone(local_zone())


def local_day(value: dt.datetime) -> dt.date:
    """The local calendar day of a naive UTC instant."""
    return to_local(value).date()


def local_midnight_utc(day: dt.date) -> dt.datetime:
    """Naive UTC instant at which a local calendar day starts."""
    start = dt.datetime.combine(day, dt.time(), tzinfo=local_zone())
    return start.astimezone(dt.UTC).replace(tzinfo=None)


def format_local(value: dt.datetime | None, fmt: str = "%d/%m/%Y %H:%M") -> str:
    """A naive UTC instant as the admin reads it ('09/02/2026 14:30'); '—' for none."""
    return "—" if value is None else to_local(value).strftime(fmt)

"""Review periods: a month, an ISO week, the last N days, or two dates, in local days."""
import datetime as dt

from flask import current_app

from sync.errors import InvalidInput


def local_today(now=None):
    now = now or current_app.extensions["wall_clock"]()
    return (now + dt.timedelta(hours=current_app.config["REVIEW_UTC_OFFSET_HOURS"])).date()


#: the dates a period may span: nothing recorded here lies outside them, and date arithmetic
#: near year 1 or 9999 would overflow
EARLIEST, LATEST = dt.date(2000, 1, 1), dt.date(2100, 12, 31)


def parse_period(period=None, start=None, end=None, today=None):
    """``(first_day, last_day, label)`` from ``period`` (``2026-11``, ``2026-W47``, ``30d``) or
    ``start``/``end`` dates (both included); by default the last 90 days up to today."""
    today = today or local_today()
    try:
        if start or end:
            first = dt.date.fromisoformat(start) if start else today - dt.timedelta(days=89)
            last = dt.date.fromisoformat(end) if end else today
            label = f"{first.isoformat()} 至 {last.isoformat()}"
        elif not period:
            first, last, label = today - dt.timedelta(days=89), today, "近90天"
        elif period.endswith("d") and period[:-1].isdigit():
            days = int(period[:-1])
            if not 1 <= days <= 3660:
                raise ValueError
            first, last, label = today - dt.timedelta(days=days - 1), today, f"近{days}天"
        elif "-W" in period:
            year, week = period.split("-W")
            first = dt.date.fromisocalendar(int(year), int(week), 1)
            last, label = first + dt.timedelta(days=6), period
        else:
            year, month = period.split("-")
            first = dt.date(int(year), int(month), 1)
            last = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
            label = period
    except (ValueError, TypeError, OverflowError):
        raise InvalidInput("period: use YYYY-MM, YYYY-Www, Nd (e.g. 30d), or start/end dates as YYYY-MM-DD",
                           field="period") from None
    if not (EARLIEST <= first and last <= LATEST):
        raise InvalidInput(f"period: dates from {EARLIEST} to {LATEST} only", field="period")
    if last < first or (last - first).days > 3660:
        raise InvalidInput("period: the end must not be before the start, and at most ten years apart",
                           field="period")
    return first, last, label


"""The shared calendar of one sample: the days and months it covers, their seasonality, the
snapshot schedule, and the one random generator that every source draws from in turn."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

DAY = 86_400
NEVER = np.iinfo(np.int64).max  # "event not reached" in epoch seconds

MONTH_SEASON = np.array([0.95, 1.05, 1.10, 0.95, 0.95, 1.05, 1.00, 0.86, 1.05, 1.10, 1.05, 0.90])
DOW_FACTOR = np.array([1.00, 1.05, 1.05, 1.00, 0.92, 0.38, 0.33])  # Monday first
WORK_HOURS = np.array([0] * 9 + [6, 9, 9, 5, 8, 9, 9, 8, 6, 3] + [0] * 5, dtype=float)
WORK_P = WORK_HOURS / WORK_HOURS.sum()  # hour-of-day weights of sales-side events


def month_start(ordinal: int) -> date:
    """First day of a month ordinal (year * 12 + month - 1)."""
    return date(ordinal // 12, ordinal % 12 + 1, 1)


def month_end(ordinal: int) -> date:
    return month_start(ordinal + 1) - timedelta(days=1)


def day_number(d: date) -> int:
    """Days since 1970-01-01."""
    return (d - date(1970, 1, 1)).days


def end_of_data(end_month: str | None, end_date: date | None) -> date:
    """The last day of data: `end_date`; else the last day of `end_month` ("YYYY-MM");
    else the last day of the month before this one (date.today())."""
    if end_date is not None:
        if end_month is not None:
            raise ValueError("give end_month or end_date, not both")
        return date(end_date.year, end_date.month, end_date.day)
    if end_month is None:
        today = date.today()
        return month_end(today.year * 12 + today.month - 1 - 1)
    y, m = (int(x) for x in end_month.split("-"))
    if not 1 <= m <= 12:
        raise ValueError(f"end_month must be YYYY-MM, got {end_month!r}")
    return month_end(y * 12 + m - 1)


class Calendar:
    """Days from the first of the first month to `end` (inclusive), as arrays indexed by day
    (day_num: days since 1970, day_sec: its midnight in epoch seconds, dow: Monday = 0,
    mo_idx: month index, 0 = first month); months: whole calendar months, the last one may end
    early at `end`. `rng` is the generator every source draws from, in a fixed order."""

    def __init__(self, months: int, seed: int, end: date, scale: float) -> None:
        self.months, self.seed, self.end, self.scale = months, seed, end, scale
        self.end_ord = end.year * 12 + end.month - 1
        self.start_ord = self.end_ord - months + 1
        self.rng = np.random.default_rng(seed)
        self.last_day = day_number(end)
        self.range_end = (self.last_day + 1) * DAY - 1  # the last second of data
        self.day_num = np.arange(day_number(month_start(self.start_ord)), self.last_day + 1, dtype=np.int64)
        self.n_days = len(self.day_num)
        self.day_sec = self.day_num * DAY
        self.d64 = self.day_num.astype("datetime64[D]")
        self.dow = (self.day_num + 3) % 7  # Monday = 0
        mo_abs = self.d64.astype("datetime64[M]").astype(np.int64) + 1970 * 12  # year*12 + month-1
        self.mo_idx = mo_abs - self.start_ord
        self.cal_month = mo_abs % 12 + 1
        self.dom = (self.d64 - self.d64.astype("datetime64[M]")).astype(np.int64) + 1
        self.month_labels = [f"{o // 12:04d}{o % 12 + 1:02d}" for o in range(self.start_ord, self.end_ord + 1)]
        self.growth_m = 1.015 ** np.arange(months) * MONTH_SEASON[(np.arange(self.start_ord, self.end_ord + 1) % 12)]
        self._seasonality()

    def _seasonality(self) -> None:
        """Daily traffic factors: trend, season, weekday, holidays, and the day's noise (the
        first draw of the generator); email_factor: the newsletter send days."""
        dow, dom, cal_month = self.dow, self.dom, self.cal_month
        holiday = np.ones(self.n_days)
        holiday[((cal_month == 12) & (dom >= 29)) | ((cal_month == 1) & (dom <= 3))] = 0.35
        holiday[(cal_month == 8) & (dom >= 13) & (dom <= 16)] = 0.6
        holiday[(cal_month == 5) & (dom >= 3) & (dom <= 5)] = 0.45
        self.holiday = holiday
        self.trend = 1.015 ** (np.arange(self.n_days) / 30.44)
        self.day_factor = self.trend * MONTH_SEASON[cal_month - 1] * DOW_FACTOR[dow] * holiday
        self.day_factor *= np.exp(self.rng.normal(0.0, 0.08, self.n_days))
        # newsletter sends: Tuesdays of the 2nd and 4th week
        send = (dow == 1) & (((dom >= 8) & (dom <= 14)) | ((dom >= 22) & (dom <= 28)))
        after1 = np.roll(send, 1)
        after1[0] = False
        after2 = np.roll(send, 2)
        after2[:2] = False
        self.email_factor = 0.25 + 5.0 * send + 2.0 * after1 + 0.8 * after2

    def month_days(self, m: int) -> np.ndarray:
        """Day indexes of month index m."""
        return np.nonzero(self.mo_idx == m)[0]

    def year_month(self, m: int) -> str:
        o = self.start_ord + m
        return f"{o // 12:04d}-{o % 12 + 1:02d}"

    def snapshot_date(self, m: int) -> date:
        """Date of the file that covers, or the snapshot taken at the end of, month index m."""
        return min(month_end(self.start_ord + m), self.end)

    @staticmethod
    def cut(snapshot: date) -> int:
        """The last second (epoch) a snapshot of that date shows."""
        return (day_number(snapshot) + 1) * DAY - 1

    def snapshot_months(self, count: int, literal: tuple[int, ...] | None) -> list[int]:
        """Month indexes (0 = first month) of `count` snapshots, last = months - 1: `literal`
        months back from the last when the range is long enough, else spread evenly."""
        months = self.months
        if literal is not None and months > literal[0]:
            picks = [months - 1 - back for back in literal]
        else:
            picks = [max(0, (months * (k + 1)) // count - 1) for k in range(count)]
        picks[-1] = months - 1
        return sorted(set(picks))

    def later_work_time(self, after: np.ndarray, days: np.ndarray) -> np.ndarray:
        """A time `days` (>= 1) calendar days after `after`, during working hours."""
        n = len(after)
        hour = self.rng.choice(24, size=n, p=WORK_P)
        return (after // DAY + days) * DAY + hour * 3600 + self.rng.integers(0, 3600, n)

"""Vectorised text helpers shared by the sources: dates and times in the spellings the exports
use, yen amounts, record ids, company names, and the raw-spelling variants of source values."""

from __future__ import annotations

import numpy as np

# Values that the channel patterns catch even with stray spaces around them.
PAD_SAFE = {"Webinar", "ウェビナー", "セミナー", "展示会", "Trade Show", "紹介", "Partner",
            "パートナー", "テレアポ", "Outbound", "インサイドセールス", "リスティング広告",
            "ディスプレイ広告"}


def ts_iso(sec: np.ndarray) -> np.ndarray:
    """Epoch seconds (naive local) -> 'YYYY-MM-DD HH:MM:SS'."""
    s = np.datetime_as_string(np.asarray(sec, dtype=np.int64).astype("datetime64[s]"), unit="s")
    s = np.ascontiguousarray(s.astype("<U19"))
    s.view(np.uint32).reshape(-1, 19)[:, 10] = ord(" ")
    return s


def date_iso(sec_or_day: np.ndarray, unit: str = "s") -> np.ndarray:
    """Epoch seconds (unit "s") or day numbers (unit "D") -> 'YYYY-MM-DD'."""
    return np.datetime_as_string(np.asarray(sec_or_day, dtype=np.int64).astype(f"datetime64[{unit}]"), unit="D")


def date_slash(day: np.ndarray) -> np.ndarray:
    """Day numbers -> 'YYYY/MM/DD'."""
    s = np.ascontiguousarray(date_iso(day, "D").astype("<U10"))
    v = s.view(np.uint32).reshape(-1, 10)
    v[:, 4] = ord("/")
    v[:, 7] = ord("/")
    return s


def ts_slash_short(sec: np.ndarray) -> np.ndarray:
    """Epoch seconds -> '2026/7/3 10:15' (no zero padding of month, day, hour)."""
    t = np.asarray(sec, dtype=np.int64).astype("datetime64[s]")
    y = t.astype("datetime64[Y]").astype(np.int64) + 1970
    m = t.astype("datetime64[M]").astype(np.int64) % 12 + 1
    d = (t.astype("datetime64[D]") - t.astype("datetime64[M]")).astype(np.int64) + 1
    sod = (t - t.astype("datetime64[D]")).astype(np.int64)
    hh, mm = sod // 3600, (sod % 3600) // 60
    out = np.strings.add(y.astype(str), "/")
    out = np.strings.add(np.strings.add(out, m.astype(str)), "/")
    out = np.strings.add(np.strings.add(out, d.astype(str)), " ")
    out = np.strings.add(np.strings.add(out, hh.astype(str)), ":")
    return np.strings.add(out, np.strings.zfill(mm.astype(str), 2))


def ids(prefix: str, n: int, width: int) -> np.ndarray:
    """prefix + 1..n, zero-padded to `width` digits (more when n needs them)."""
    if n == 0:  # numpy's zfill cannot size an empty array
        return np.array([], dtype=str)
    width = max(width, len(str(n)))
    return np.strings.add(prefix, np.strings.zfill(np.arange(1, n + 1).astype(str), width))


def yen_text(values: np.ndarray, style: np.ndarray) -> np.ndarray:
    """Integers -> text in one of four money styles (0 plain, 1 '1,500,000', 2 '¥..', 3 '..円')."""
    code = np.asarray(values, dtype=np.int64) * 4 + np.asarray(style, dtype=np.int64)
    uniq, inv = np.unique(code, return_inverse=True)
    fmt = ("{:d}", "{:,d}", "¥{:,d}", "{:,d}円")
    table = np.array([fmt[int(c) % 4].format(int(c) // 4) for c in uniq], dtype=object)
    return table[inv]


def company_names(numbers: np.ndarray) -> np.ndarray:
    """Fake company names; the same number always gives the same name."""
    s = np.asarray(numbers).astype(str)
    style = np.asarray(numbers) % 10
    a = np.strings.add("株式会社サンプル", s)
    b = np.strings.add(np.strings.add("サンプル工業", s), "株式会社")
    c = np.strings.add("合同会社テスト", s)
    return np.where(style < 7, a, np.where(style < 9, b, c)).astype(object)


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else ("\u3000" if c == " " else c) for c in text)


def _spelling_variant(value: str, code: int) -> str:
    if code == 1:
        return value.upper()
    if code == 2:
        return value.lower()
    if code == 3:
        return _fullwidth(value.upper())
    if code == 4:
        return f" {value} "
    if code == 5:
        return _fullwidth(value)
    return value


def pick(rng: np.random.Generator, options: tuple[tuple[str, float], ...], n: int) -> np.ndarray:
    """n values drawn from (value, weight) options."""
    values = np.array([v for v, _ in options], dtype=object)
    w = np.array([p for _, p in options], dtype=float)
    return values[rng.choice(len(values), size=n, p=w / w.sum())]


def raw_spellings(rng: np.random.Generator, values: np.ndarray) -> np.ndarray:
    """Vary case / width / spacing on a few percent of the values."""
    n = len(values)
    code = rng.choice(6, size=n, p=[0.94, 0.015, 0.012, 0.008, 0.015, 0.01])
    pad_ok = np.isin(values, np.array(sorted(PAD_SAFE), dtype=object))
    code = np.where((code == 4) & ~pad_ok, 0, code)
    if n == 0:
        return values
    vocab, inv = np.unique(values.astype(str), return_inverse=True)
    key = inv * 6 + code
    uniq, kinv = np.unique(key, return_inverse=True)
    table = np.array([_spelling_variant(str(vocab[k // 6]), int(k % 6)) for k in uniq], dtype=object)
    return table[kinv]

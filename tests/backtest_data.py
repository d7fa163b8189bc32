"""Made-up daily candles for backtester tests: listings, halts, delistings, ties and excluded tokens."""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tradingbot.core.backtest.panel import Panel, build_panel, day_date

FIRST_DAY = 19000  # 2022-01-08 as a day number


@dataclass(frozen=True)
class Bar:
    open: float
    close: float
    quote_volume: float


def make_candles(seed: int = 1, symbols: int = 24, days: int = 160) -> dict[str, dict[int, Bar]]:
    """symbol -> day number -> Bar, with gaps, late listings, early ends and a pair of twins."""
    rng = random.Random(seed)
    names = [f"C{chr(65 + i // 26)}{chr(65 + i % 26)}USDT" for i in range(symbols)]
    names += ["BTCUSDT", "USDCUSDT", "BTCUPUSDT", "TWINAUSDT", "TWINBUSDT"]
    out: dict[str, dict[int, Bar]] = {}
    for name in names:
        start = FIRST_DAY + (rng.randrange(days // 2) if rng.random() < 0.3 else 0)
        stop = FIRST_DAY + days - (rng.randrange(days // 3) if rng.random() < 0.15 else 0)
        price = 10 ** rng.uniform(-3, 3)
        drift, vol = rng.gauss(0, 0.004), rng.uniform(0.01, 0.08)
        if name == "USDCUSDT":
            drift, vol, price = 0.0, 0.0005, 1.0
        volume = 10 ** rng.uniform(4.5, 7.5)
        bars = {}
        for day in range(start, stop):
            opened = price * math.exp(rng.gauss(0, vol / 4))
            price = opened * math.exp(drift + rng.gauss(0, vol))
            if rng.random() < 0.04:  # a halt: no candle that day
                continue
            bars[day] = Bar(opened, price, volume * math.exp(rng.gauss(0, 0.8)))
        out[name] = bars
    out["TWINBUSDT"] = dict(out["TWINAUSDT"])  # identical returns: ties go by name
    return out


def panel_of(candles: dict[str, dict[int, Bar]]) -> Panel:
    rows = [(s, d, b) for s, bars in candles.items() for d, b in bars.items()]
    return build_panel(np.array([r[0] for r in rows]), np.array([r[1] for r in rows]),
                       np.array([r[2].open for r in rows]), np.array([r[2].close for r in rows]),
                       np.array([r[2].quote_volume for r in rows]))


def write_candles_csv(path: Path, candles: dict[str, dict[int, Bar]], pad: float = 0.0, extra: str = "") -> Path:
    """The candles as a long CSV (base volume), highs and lows `pad` beyond the open and close, then `extra` lines."""
    with path.open("w") as f:
        f.write("symbol,open_time,open,high,low,close,volume\n")
        for symbol, bars in candles.items():
            for day, b in sorted(bars.items()):
                f.write(f"{symbol},{day_date(day)},{b.open},{max(b.open, b.close) * (1 + pad)},"
                        f"{min(b.open, b.close) * (1 - pad)},{b.close},{b.quote_volume / b.close}\n")
        f.write(extra)
    return path

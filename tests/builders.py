"""Builders for domain objects used across the tests."""
from __future__ import annotations

import tempfile
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from tradingbot.core.domain import Candle, SymbolRules, SymbolSnapshot

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)
D = Decimal
# --env-file for a bot.py run that must read no settings file: inside a folder only this run created, so it
# cannot exist (a fixed path such as /nonexistent can, and then its settings, or a refusal, leak in).
NO_ENV_FILE = str(Path(tempfile.mkdtemp(prefix="itb-no-env-")) / "absent.env")


def rules(symbol: str, base: str | None = None, quote: str = "USDT", status: str = "TRADING",
          step: str = "0.001", min_notional: str = "5", min_qty: str | None = None) -> SymbolRules:
    base = base or symbol.removesuffix(quote)
    return SymbolRules(symbol, base, quote, status, D(step), D(min_qty or step), D("9000000"), D(min_notional))


def snapshot(symbol: str, now_close: str | None = "110", then_close: str | None = "100", volume: str = "5000000",
             age_days: int = 400, **kw) -> SymbolSnapshot:
    first = NOW - timedelta(days=age_days)
    return SymbolSnapshot(rules(symbol, **kw), first, D(now_close) if now_close else None,
                          D(then_close) if then_close else None, D(volume))


def candle(open_time: datetime, close: str, interval: timedelta = timedelta(hours=1), qv: str = "1000") -> Candle:
    c = D(close)
    return Candle(open_time, open_time + interval - timedelta(milliseconds=1), c, c, c, c, D(1), D(qv))

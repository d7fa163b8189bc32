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


def paper_bot(path: Path, market, clock, params, capital: Decimal, market_name: str = "synthetic"):
    """A bot over `market` through the real paper venue and a database at `path`, `capital` deposited in both:
    (store, paper venue, services). The adapters are imported here, so domain-only tests do not pay for them."""
    from tradingbot.adapters.lockfile import NoLock
    from tradingbot.adapters.paper import PaperExchange
    from tradingbot.adapters.sqlite_store import SqliteStore, open_database
    from tradingbot.app.current_params import CurrentParams
    from tradingbot.app.rebalancer import Rebalancer
    from tradingbot.app.services import Services

    db = open_database(path)
    store = SqliteStore(db, "USDT")
    current = CurrentParams(store, params)  # the paper venue charges the parameters in force, as bot.py wires it
    paper = PaperExchange(db, market, clock, current.costs)
    services = Services(store, paper, market, clock, Rebalancer(store, paper, market, clock, NoLock()), current,
                        market_name)
    with db.atomic():
        paper.deposit("USDT", capital)
        store.deposit(capital, clock.now())
    return store, paper, services

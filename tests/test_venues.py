"""The wiring of each EXCHANGE x MARKET_DATA choice builds (no network: nothing is asked until the bot runs)."""
from __future__ import annotations

import asyncio
from decimal import Decimal

from tradingbot.adapters.clock import ManualClock
from tradingbot.adapters.paper import PaperExchange
from tradingbot.adapters.sqlite_store import open_database
from tradingbot.core.costs import Costs
from tradingbot.settings import load_settings
from tradingbot.venues import build_venue
from tests.builders import NOW

LOCAL = "http://127.0.0.1:9/api"  # never contacted here


def test_paper_trading_on_binance_market_data_charges_the_parameters_costs(tmp_path):
    settings = load_settings(env_file=None, exchange="paper", market_data="binance",
                             binance_market_data_url=LOCAL, binance_stream_url="ws://127.0.0.1:9/",
                             kline_db_path=tmp_path / "klines.sqlite")
    costs = Costs(Decimal("0.002"), Decimal(7), 0)
    venue = build_venue(settings, open_database(tmp_path / "bot.sqlite"), ManualClock(NOW), lambda: costs, demo=False)
    try:
        assert isinstance(venue.exchange, PaperExchange) and venue.market_name == "binance"
        assert venue.exchange.costs() == costs
    finally:
        asyncio.run(venue.close())

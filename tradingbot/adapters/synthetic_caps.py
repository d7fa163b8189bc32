"""Market caps of the synthetic market (circulating supply × price), so the demo can use min_market_cap offline."""
from __future__ import annotations

from ..core.market_caps import CoinCap
from .synthetic import SyntheticMarket


class SyntheticCaps:
    name = "synthetic"

    def __init__(self, market: SyntheticMarket, quote: str = "USDT"):
        self.market, self.quote = market, quote
        self._supply = market.circulating_supply()

    async def coins(self) -> list[CoinCap]:
        """Every coin trading now, largest cap first (a dollar-pegged quote taken as 1 USD)."""
        prices = await self.market.prices()
        coins = [CoinCap(base.lower(), base.lower(), supply * prices[base + self.quote])
                 for base, supply in self._supply.items() if base + self.quote in prices]
        return sorted(coins, key=lambda c: -c.market_cap)

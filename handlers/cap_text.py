"""The market cap part of /ranking: where the caps came from, how the listed coins were mapped, who is out."""
from __future__ import annotations

from decimal import Decimal
from zoneinfo import ZoneInfo

from tradingbot.core.market_caps import CAVEAT, short_usd
from tradingbot.app.reports import RankingReport

from .texts import local


def cap_lines(report: RankingReport, limit: int, quote: str, tz: ZoneInfo, floor: Decimal) -> list[str]:
    """Nothing while min_market_cap is 0; else the source, the mapping of the listed picks and the exclusions."""
    view = report.caps
    if view is None:
        return []
    if view.coins is None:
        return [f"{view.skipped_note().capitalize()}: every coin is ranked without it."]
    age = f", {'stale' if view.stale(report.ranking.at) else 'cached'}: {view.problem}" if view.problem else ""
    lines = [f"Market caps ({view.source}, read {local(view.read_at, tz)}{age}); floor {short_usd(floor)} USD"]
    overrides = view.overrides or {}
    mapped = []
    for row in [r for r in report.ranking.rows if r.eligible][:limit]:
        base = row.symbol.removesuffix(quote)
        coin = view.coins.get(base)
        if coin is not None:
            star = "*" if base in overrides else ""
            mapped.append(f"{base}→{coin.coin_id}{star} {short_usd(coin.market_cap)}")
    if mapped:
        lines.append(", ".join(mapped) + (" (* set by MARKET_CAP_IDS)" if any("*" in m for m in mapped) else ""))
    lines += _excluded(report, limit, quote)
    return lines


def _excluded(report: RankingReport, limit: int, quote: str) -> list[str]:
    """The coins the filter kept out, with their caps (largest first), `limit` of each kind at most."""
    below = [r for r in report.ranking.rows if r.reason.startswith(f"{CAVEAT} ") and "< floor" in r.reason]
    unknown = [r.symbol.removesuffix(quote) for r in report.ranking.rows if r.reason == "no known market cap"]
    caps = report.caps.caps if report.caps is not None else None
    lines = []
    if below and caps is not None:
        bases = sorted((r.symbol.removesuffix(quote) for r in below), key=lambda b: -caps.get(b, 0))
        shown = ", ".join(f"{b} {short_usd(caps[b])}" for b in bases[:limit])
        lines.append(f"Below the floor ({len(bases)}): {shown}" + (", …" if len(bases) > limit else ""))
    if unknown:
        lines.append(f"No known market cap ({len(unknown)}): {', '.join(unknown[:limit])}"
                     + (", …" if len(unknown) > limit else ""))
    return lines

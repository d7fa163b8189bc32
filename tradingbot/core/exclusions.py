"""Built-in exclusion lists: assets whose returns say nothing about momentum (pegged, leveraged, wrapped)."""
from __future__ import annotations

from typing import Collection

LISTS = ("stablecoins", "leveraged", "wrapped")

# Pegged to a fiat currency or to gold: they barely move, so ranking them by return only ranks noise.
STABLECOINS = frozenset("""
    USDT USDC FDUSD TUSD BUSD USDP DAI PAX PAXG XAUT USTC UST AEUR EURI EURC USD1 XUSD BFUSD RLUSD
    USDE PYUSD USDS USDD GUSD FRAX LUSD SUSD VAI IDRT BIDR BVND BKRW
    EUR GBP AUD TRY BRL RUB UAH NGN ZAR PLN RON ARS JPY MXN COP CZK""".split())
# Claims on another coin (bridged, staked or liquid-staked): holding one duplicates its underlying.
WRAPPED = frozenset("""
    WBTC WETH WBNB WBETH BETH BNSOL STETH WSTETH CBETH RETH WEETH EZETH BTCB RENBTC HBTC CBBTC
    LBTC TBTC SOLVBTC MSOL JITOSOL BBSOL STSOL""".split())
# Every root Binance issued UP/DOWN or BULL/BEAR tokens for, plus a few majors; see is_leveraged.
LEVERAGED_ROOTS = frozenset("""
    BTC ETH BNB XRP EOS LTC LINK ADA DOT TRX XTZ UNI FIL SXP YFI BCH AAVE SUSHI 1INCH XLM
    SOL DOGE AVAX MATIC""".split())
LEVERAGED_SUFFIXES = ("DOWN", "BULL", "BEAR", "UP")
_LIST_REASONS = {"stablecoins": "stablecoin", "leveraged": "leveraged token", "wrapped": "wrapped token"}
def is_stablecoin(base: str) -> bool:
    """True for a stablecoin or a fiat- or gold-pegged asset."""
    return base.upper() in STABLECOINS


def is_wrapped(base: str) -> bool:
    """True for a wrapped, bridged or staked claim on another coin."""
    return base.upper() in WRAPPED


def is_leveraged(base: str, known_bases: Collection[str] = ()) -> bool:
    """True for ROOT+UP/DOWN/BULL/BEAR where ROOT is in LEVERAGED_ROOTS, or is a known base of 3+ chars."""
    base = base.upper()
    for suffix in LEVERAGED_SUFFIXES:
        root = base[: -len(suffix)]
        # JUP, GUP or a bare UP leave a root of 0-1 letters that is no asset: never a leveraged token.
        if base.endswith(suffix) and (root in LEVERAGED_ROOTS or (len(root) >= 3 and root in known_bases)):
            return True
    return False


def exclusion_reason(
    base: str, symbol: str, exclude: frozenset[str], known_bases: Collection[str] = ()
) -> str | None:
    """Why the exclude set keeps this pair out, e.g. 'excluded: stablecoin' or 'excluded: DOGE'; else None."""
    base, symbol = base.upper(), symbol.upper()
    hits = {"stablecoins": is_stablecoin(base), "leveraged": is_leveraged(base, known_bases),
            "wrapped": is_wrapped(base)}
    for name, hit in hits.items():
        if hit and name in exclude:
            return f"excluded: {_LIST_REASONS[name]}"
    item = next((i for i in (base, symbol) if i in exclude), None)
    return f"excluded: {item}" if item else None

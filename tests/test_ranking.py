from datetime import timedelta
from decimal import Decimal

from hypothesis import given, strategies as st

from tests.builders import NOW, candle, rules, snapshot
from tradingbot.core.params import StrategyParams
from tradingbot.core.ranking import anchors, build_snapshot, rank_universe

P = StrategyParams()


def test_momentum_takes_the_highest_returns_and_reversal_the_lowest():
    snaps = [snapshot(f"A{i}USDT", now_close=str(100 + i), then_close="100") for i in range(20)]
    mom = rank_universe(snaps, StrategyParams(topn=3), NOW)
    rev = rank_universe(snaps, StrategyParams(topn=3, strategy="reversal"), NOW)
    assert mom.selected == ("A19USDT", "A18USDT", "A17USDT")
    assert rev.selected == ("A0USDT", "A1USDT", "A2USDT")
    assert mom.rows[0].score == Decimal("0.19")


def test_ties_are_broken_by_symbol_name_and_fewer_than_n_gives_all():
    snaps = [snapshot(s, now_close="120") for s in ("CCCUSDT", "AAAUSDT", "BBBUSDT")]
    ranking = rank_universe(snaps, StrategyParams(topn=10), NOW)
    assert ranking.selected == ("AAAUSDT", "BBBUSDT", "CCCUSDT")


def test_every_filter_gives_its_reason():
    snaps = [
        snapshot("OKUSDT"),
        snapshot("OLDBTC", quote="BTC", base="OLD"),
        snapshot("HALTUSDT", status="BREAK"),
        snapshot("USDCUSDT"),
        snapshot("BTCUPUSDT"),
        snapshot("WBTCUSDT"),
        snapshot("YOUNGUSDT", age_days=3),
        snapshot("THINUSDT", volume="10"),
        snapshot("NOWUSDT", now_close=None),
        snapshot("NEWUSDT", then_close=None),
        snapshot("BADUSDT"),
    ]
    params = StrategyParams(blacklist=frozenset({"BAD"}))
    rows = {r.symbol: r for r in rank_universe(snaps, params, NOW).rows}
    assert rows["OKUSDT"].eligible and rows["OKUSDT"].selected
    expected = {
        "OLDBTC": "quote", "HALTUSDT": "BREAK", "USDCUSDT": "stable", "BTCUPUSDT": "leveraged",
        "WBTCUSDT": "wrapped", "YOUNGUSDT": "listed less", "THINUSDT": "volume", "NOWUSDT": "no closed candle now",
        "NEWUSDT": "lookback", "BADUSDT": "blacklisted",
    }
    for symbol, fragment in expected.items():
        assert not rows[symbol].eligible and fragment in rows[symbol].reason, (symbol, rows[symbol].reason)


@given(st.lists(st.tuples(st.sampled_from(["AUSDT", "BUSDT", "CUSDT", "DUSDT", "EUSDT", "FUSDT"]),
                          st.integers(1, 10_000)), max_size=30),
       st.integers(1, 50), st.sampled_from(["momentum", "reversal"]))
def test_each_eligible_symbol_is_ranked_once_and_at_most_n_selected(items, topn, strategy):
    snaps = [snapshot(sym, now_close=str(close)) for sym, close in items]
    ranking = rank_universe(snaps, StrategyParams(topn=topn, strategy=strategy), NOW)
    symbols = [r.symbol for r in ranking.rows]
    assert len(symbols) == len(set(symbols)) == len({s for s, _ in items})
    assert len(ranking.selected) == min(topn, len(set(symbols)))
    scores = [r.score for r in ranking.rows if r.selected]
    assert scores == sorted(scores, reverse=strategy == "momentum")


def test_snapshot_uses_closed_candles_only():
    lookback = timedelta(days=7)
    at_now, at_then = anchors(NOW, lookback)
    still_open = candle(NOW.replace(minute=0), "999")  # the candle containing now must never be used
    snap = build_snapshot(
        rules("XUSDT"), NOW - timedelta(days=100),
        [candle(at_now, "110"), still_open], [candle(at_then, "100")],
        [candle(NOW.replace(hour=0) - timedelta(days=d), "1", timedelta(days=1), qv=str(d * 1000)) for d in range(0, 9)],
        NOW, lookback,
    )
    assert snap.close_now == Decimal("110") and snap.close_then == Decimal("100")
    # days 1..7 before today are closed and in the window; today's (d=0) is open, d=8 is outside
    assert snap.mean_daily_quote_volume == Decimal(sum(range(1, 8)) * 1000) / 7


def test_snapshot_without_the_exact_lookback_candle_has_no_then_price():
    lookback = timedelta(hours=12)
    at_now, at_then = anchors(NOW, lookback)
    snap = build_snapshot(rules("XUSDT"), NOW - timedelta(days=100), [candle(at_now, "110")],
                          [candle(at_then - timedelta(hours=1), "100")], [], NOW, lookback)
    assert snap.close_then is None
    row = rank_universe([snap], P, NOW).rows[0]
    assert not row.eligible


def test_a_leveraged_token_is_known_by_a_base_listed_in_another_quote_only():
    """The ranking's rows are one quote's pairs; the bases that reveal a leveraged token are every quote's."""
    snaps = [snapshot("OKUSDT"), snapshot("QWERUPUSDT", base="QWERUP")]
    assert rank_universe(snaps, P, NOW).eligible_count == 2  # QWER unknown: QWERUP may be a coin of its own
    rows = {r.symbol: r for r in rank_universe(snaps, P, NOW, None, frozenset({"OK", "QWERUP", "QWER"})).rows}
    assert rows["OKUSDT"].eligible and "leveraged" in rows["QWERUPUSDT"].reason

"""What the local Binance lists and how it writes its numbers: the listing's market-data side."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext

from hypothesis import given, strategies as st

from standins.binance_json import num
from tradingbot.core.domain import QUOTE_UNIT


def _num_by_quantize(x: Decimal) -> str:
    """The plain rule: quantize half up to 1e-8 at ample precision, print fixed-point, no negative zero."""
    with localcontext(prec=60):
        text = format(x.quantize(QUOTE_UNIT, rounding=ROUND_HALF_UP), "f")
    return text[1:] if text.startswith("-") and not text.strip("-0.") else text


@given(st.integers(-10**30, 10**30), st.integers(-14, 6))
def test_numbers_print_as_the_plain_quantize_rule_prints_them(units, exponent):
    x = Decimal(units).scaleb(exponent)
    assert num(x) == _num_by_quantize(x)


def test_numbers_print_with_eight_decimals_and_never_a_negative_zero():
    assert [num(Decimal(v)) for v in ("0.001", "5", "1E+3", "-0", "-0.000000004", "0.000000005", "-1.5")] == [
        "0.00100000", "5.00000000", "1000.00000000", "0.00000000", "0.00000000", "0.00000001", "-1.50000000"]

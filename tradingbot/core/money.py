"""Exact Decimal helpers for money, quantities and prices (Binance step/tick rounding, text form)."""
from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation, localcontext

# Enough digits that step/tick arithmetic on any realistic amount never rounds;
# the default 28 could silently round a long quantity before it is floored.
_PREC = 60


def to_decimal(x: str | int | float | Decimal) -> Decimal:
    """Convert to Decimal via the shortest text form (never Decimal(float)); reject NaN and infinities."""
    if isinstance(x, bool):  # bool is an int subclass; True as 1 unit of money is a bug, not a value
        raise TypeError("a bool is not an amount")
    if isinstance(x, Decimal):
        d = x
    elif isinstance(x, (int, float, str)):
        # str(float) is the shortest repr that round-trips, so 0.1 becomes exactly 0.1
        text = x.strip() if isinstance(x, str) else str(x)
        try:
            d = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"not a number: {x!r}") from None
    else:
        raise TypeError(f"cannot convert {type(x).__name__} to Decimal")
    if not d.is_finite():
        raise ValueError(f"not a finite number: {x!r}")
    return d


def _to_multiple(value: Decimal, unit: Decimal, rounding: str) -> Decimal:
    """Round value to a multiple of unit in the given direction (unit 0 = unchanged)."""
    if unit < 0:
        raise ValueError(f"step must not be negative: {unit}")
    if unit == 0:
        return value
    with localcontext() as ctx:
        ctx.prec = _PREC
        # value / unit is exact for the decimal steps Binance uses; the high precision
        # keeps a long non-multiple from rounding up to the next integer first
        k = (value / unit).to_integral_value(rounding=rounding)
        # quantize to the unit's exponent so 1200 floored to 0.001 reads 1200.000, not 1.2E+3
        return (k * unit).quantize(unit)


def floor_to_step(q: Decimal, step: Decimal) -> Decimal:
    """Round q down to a multiple of step (LOT_SIZE.stepSize); step 0 means no rounding."""
    return _to_multiple(q, step, ROUND_FLOOR)


def round_to_tick(price: Decimal, tick: Decimal, up: bool) -> Decimal:
    """Round price to a multiple of tick, up or down (PRICE_FILTER.tickSize); tick 0 means no rounding."""
    return _to_multiple(price, tick, ROUND_CEILING if up else ROUND_FLOOR)


def fmt_decimal(d: Decimal) -> str:
    """Fixed-point text without exponent or needless trailing zeros: Decimal('1E-5') -> '0.00001'."""
    if not d.is_finite():
        raise ValueError(f"not a finite number: {d}")
    if d == 0:
        return "0"  # also turns -0 into 0
    # format 'f' is exact (no context rounding, unlike normalize()), then trim zeros by hand
    text = format(d, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text

"""A backtest's period is any whole number of days or weeks, or hours dividing a day, as /set every= takes."""
from __future__ import annotations

from datetime import timedelta

import pytest

from tradingbot.core.backtest.options import config_from_pairs
from tradingbot.core.errors import UserError
from tradingbot.core.params import StrategyParams, parse_assignments


@pytest.mark.parametrize("text, days", [("2d", 2), ("3D", 3), ("2w", 14), ("1w", 7), ("10d", 10)])
def test_every_takes_whole_days_or_weeks(text, days):
    config = config_from_pairs([f"every={text}"], StrategyParams())
    assert config.every_days == days and config.period == timedelta(days=days)
    assert config.every_text == text.lower()


def test_without_every_the_live_period_is_used():
    assert config_from_pairs(["topn=3"], StrategyParams(every="1w")).every_days == 7


@pytest.mark.parametrize("text, message", [
    ("5h", "every must be a whole number of days or weeks up to 365d, or of hours dividing a day, like 4h, 12h, "
           "1d, 3d or 2w (got 5h)"),
    ("0d", "every must be a whole number of days or weeks"),
    ("53w", "every must be a whole number of days or weeks"),
    ("3x", "every must be a duration like 1d, 3d or 2w (got '3x')"),
])
def test_every_that_is_no_whole_number_of_days_is_refused_in_one_line(text, message):
    with pytest.raises(UserError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        config_from_pairs([f"every={text}"], StrategyParams())


def test_set_every_refuses_a_period_no_schedule_keeps():
    with pytest.raises(UserError, match="every must be 1h, 4h, 1d, 1w, or hours dividing a day"):
        parse_assignments("every=5h", StrategyParams())

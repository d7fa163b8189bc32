"""Every chat command with hostile arguments: a clear reply always, parameters unchanged or exactly as asked.

The command list comes from the table, so a new command is fuzzed without touching this file. The same
lines go through the Telegram path for a smaller sample: what the fake Bot API accepted is what a person sees.
"""
from __future__ import annotations

import asyncio
import dataclasses
import logging
import sqlite3
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from handlers.chart_replies import NAMES as CHART_NAMES
from handlers.commands import COMMANDS, Command, Context, dispatch
from handlers.replies import Reply
from handlers.telegram_guard import Limits
from tests.backtest_data import make_candles
from tests.builders import NOW
from tests.conftest import World
from tests.figures import count
from tests.test_telegram_bot import ADMIN, TOKEN, config, run_with_bot
from tradingbot.core.backtest.options import ALIASES, RUN_KEYS
from tradingbot.core.backtest.panel import day_date
from tradingbot.adapters.candle_cache import FileCandles
from tradingbot.app.backtester import Backtester
from tradingbot.adapters.clock import ManualClock
from tradingbot.core.errors import UserError
from tradingbot.core.params import PARAM_SPECS, StrategyParams, parse_assignments
from standins.telegram_api import FakeTelegram

KEYS = [spec.key for spec in PARAM_SPECS]
# Values each key accepts, so a fuzzed line sometimes changes something and sometimes runs a real backtest.
GOOD = {"strategy": ["momentum", "reversal"], "lookback": ["12h", "3d", "2w"], "topn": ["1", "3", "50"],
        "every": ["1h", "4h", "1d", "1w"], "at": ["00:00", "10:30"], "weekday": ["sun", "fri"],
        "timezone": ["Europe/Paris", "asia/tokyo"], "quote": ["USDT", "btc", "EUR"], "min_age_days": ["0", "30"],
        "min_quote_volume": ["0", "1e5", "1,000,000"], "min_market_cap": ["0", "5e8"],
        "exclude": ["none", "+stablecoins", "-wrapped,-leveraged"],
        "blacklist": ["none", "DOGE,SHIB", "+ALPHA", "-ALPHA"], "mode": ["full", "delta"],
        "invest_fraction": ["0.5", "1"], "fee_rate": ["0", "0.002"], "slippage_bps": ["0", "12.5"],
        "latency_ms": ["0"], "start": ["2022-02-01"], "end": ["2022-03-05"], "delay": ["0", "1"],
        "capital": ["5000"], "fee": ["0.001"], "slippage": ["3"], "min_age": ["1"], "min_volume": ["0"]}

numbers = st.one_of(
    st.integers(-10**30, 10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["NaN", "nan", "-inf", "Infinity", "sNaN", "1e999999", "1e-9999", "-0", "0x10", "1_000", "١٢",
                     "²", "1,000", "1.5e3", "-1", "0.0000000000001", "9" * 400, "1e15", "1e16", "+5", "5.",
                     ".5", "1/2", "½", "Ⅻ", "00000000000000000001"]),
)
unicode_text = st.text(st.characters(blacklist_categories=["Cs"]), max_size=30)
oddities = st.sampled_from(["\u202e", "\u200b", "\u200f", "\ufeff", "🚀", "👨‍👩‍👧", "\x00", "\x1b[31m", "\r\n", "\u2028",
                            "\t", "\x7f", "e\u0301", "ﷺ", "𝟙𝟚", "İ", "ß"])
markup = st.sampled_from(["<b>x</b>", "<script>alert(1)</script>", "&amp;", "&", "<", ">", "*bold*", "_it_",
                          "`code`", "[a](http://x)", "<a href='tg://user?id=1'>x</a>", "</pre>", "<pre>", "&#0;",
                          "<tg-spoiler>", "||x||", "\\"])
injection = st.sampled_from(["'; DROP TABLE params; --", "\" OR 1=1 --", "$(rm -rf /)", "`id`", "; ls", "|| true",
                             "../../etc/passwd", "%s%s%n", "{0}", "{__class__}", "${HOME}", "NULL", "None",
                             "__import__('os')", "\\x00", "%00", "/etc/localtime", "Etc/../../etc/passwd"])
good = st.sampled_from(sorted({v for values in GOOD.values() for v in values} | set(CHART_NAMES)))
values = st.one_of(numbers, unicode_text, oddities, markup, injection, good,
                   st.lists(st.one_of(good, numbers, oddities), min_size=1, max_size=4).map(",".join))
keys = st.one_of(st.sampled_from(KEYS + list(ALIASES) + list(RUN_KEYS)), st.sampled_from(KEYS).map(str.upper),
                 st.sampled_from(["top-n", "topN", "", "=", "set", "tOpN", "t\u200bopn"]), unicode_text)
assignments = st.builds(lambda k, sep, v: f"{k}{sep}{v}", keys, st.sampled_from(["=", " = ", "==", "=\n", ""]), values)
def good_pair(names: list[str]) -> st.SearchStrategy[str]:
    return st.sampled_from(names).flatmap(lambda k: st.sampled_from(GOOD[k]).map(lambda v: f"{k}={v}"))


good_assignments = good_pair(sorted(GOOD))
huge = st.sampled_from(["a", "é", "🚀", "topn=5 ", "<b>", "&", "\u202e", "1", "x=" + "9" * 50 + " "]).map(
    lambda s: (s * 10_000)[:10_000])
words = st.one_of(assignments, good_assignments, values)
valid_shape = st.lists(good_pair(KEYS), min_size=1, max_size=4, unique_by=lambda a: a.split("=")[0])
backtest_shape = st.tuples(valid_shape, st.lists(good_pair(sorted(set(GOOD) - set(KEYS))), max_size=3,
                                                 unique_by=lambda a: a.split("=")[0])).map(lambda t: t[0] + t[1])
one_odd_part = st.tuples(valid_shape, words, st.integers(0, 4)).map(
    lambda t: " ".join([*t[0][:t[2]], t[1], *t[0][t[2]:]]))
arguments = st.one_of(
    st.just(""), good, st.sampled_from(CHART_NAMES), st.integers(-5, 600).map(str),  # nothing, a name, a count
    valid_shape.map(" ".join), one_odd_part, st.lists(words, min_size=1, max_size=6).map(" ".join), huge,
)
# Commands taking key=value pairs get lines that should apply more often, so the success path is fuzzed too.
pairs = st.one_of(valid_shape.map(" ".join), backtest_shape.map(" ".join), one_odd_part, arguments)


def arguments_for(command: Command) -> st.SearchStrategy[str]:
    return pairs if "key=value" in command.args else arguments

ERRORS: list[logging.LogRecord] = []


class ErrorLog(logging.Handler):
    """Errors logged while a command ran: the bot's catch-all turns an exception into 'internal error' + a log."""

    def emit(self, record: logging.LogRecord) -> None:
        ERRORS.append(record)


@dataclass
class Bench:
    world: World
    ctx: Context
    initial: StrategyParams

    def ask(self, text: str) -> Reply:
        return asyncio.run(dispatch(self.ctx, text))

    def reset(self) -> None:
        """Each example starts from the same parameters (set back through /set's own path), so it can be replayed."""
        if self.world.services.params != self.initial:
            self.world.services.set_params([f"{k}={v}" for k, v in self.initial.to_strings().items()], "fuzz")

    def stored(self) -> tuple[StrategyParams, dict[str, str], int]:
        """The parameters in memory, the params table, and how many audit rows there are."""
        store = self.world.store
        audit = store.db.execute("SELECT COUNT(*) FROM param_changes").fetchone()[0]
        return self.world.services.params, store.load_params(), audit


def write_candles(path: Path) -> Path:
    with path.open("w") as f:
        f.write("symbol,open_time,open,high,low,close,volume\n")
        for symbol, bars in make_candles(seed=3, symbols=8, days=60).items():
            for day, b in sorted(bars.items()):
                f.write(f"{symbol},{day_date(day)},{b.open},{max(b.open, b.close)},{min(b.open, b.close)},"
                        f"{b.close},{b.quote_volume / b.close}\n")
    return path


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> Bench:
    folder = tmp_path_factory.mktemp("fuzz")
    world = World(folder / "bot.sqlite", clock=ManualClock(NOW + timedelta(minutes=30)))
    # A small candle file: a valid /backtest really runs, in milliseconds.
    world.services.backtester = Backtester(FileCandles(write_candles(folder / "candles.csv")))
    handler = ErrorLog(logging.ERROR)
    logging.getLogger().addHandler(handler)
    yield Bench(world, Context(world.services, "fuzz"), world.services.params)
    logging.getLogger().removeHandler(handler)


_HIDDEN = {"Cc", "Cf", "Zl", "Zp"}


def assert_clear(text: str) -> None:
    """A person can read it: something said, no internals; a refusal is one short, printable line."""
    assert text.strip(), "empty reply"
    assert "internal error" not in text, "the command crashed (see the log)"
    for internal in ("Traceback", 'File "', "Error:", "Exception", "<class", "object at 0x"):
        assert internal not in text, f"internals in the reply: {text[:300]!r}"
    if text.startswith("⚠"):
        assert "\n" not in text and len(text) <= 300, f"refusal not one short line: {text[:400]!r}"
        assert not any(unicodedata.category(c) in _HIDDEN for c in text), f"hidden characters: {text!r}"


def ask_clearly(bench: Bench, text: str) -> tuple[Reply, tuple]:
    """From the same start every time: the reply to one line (checked clear) and the parameters before it."""
    bench.reset()
    before = bench.stored()
    ERRORS.clear()
    reply = bench.ask(text)
    count("fuzz cases tried (console dispatch)")
    assert not ERRORS, f"{text[:200]!r} logged {ERRORS[0].getMessage()[:300]}"
    assert_clear(reply.text)
    return reply, before


def check_line(bench: Bench, name: str, args: str) -> None:
    text = f"/{name} {args}"
    reply, before = ask_clearly(bench, text)
    after = bench.stored()
    if name == "set" and not reply.text.startswith("⚠"):
        expected, changes = parse_assignments(text.split()[1:], before[0])
        assert after[0] == expected  # exactly the requested change, every part of it
        assert after[1] == (expected.to_strings() if changes else before[1])
        assert after[2] == before[2] + len(changes)
    else:
        assert after == before, f"{text[:200]!r} changed parameters without saying so"


FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.mark.parametrize("command", COMMANDS, ids=[c.name for c in COMMANDS])
@FUZZ
@given(data=st.data())
def test_every_command_answers_every_argument_clearly(bench: Bench, command: Command, data: st.DataObject) -> None:
    check_line(bench, command.name, data.draw(arguments_for(command), label="args"))


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(head=st.one_of(unicode_text, oddities, markup, injection, st.sampled_from([c.name.upper() for c in COMMANDS])),
       tail=st.sampled_from(["", "@itradingbot_test", "@", "@@x", "\u200b"]), args=arguments)
def test_unknown_and_odd_command_names_answer_clearly(bench: Bench, head: str, tail: str, args: str) -> None:
    text = f"/{head}{tail} {args}"
    _, before = ask_clearly(bench, text)
    if not text.split()[0].lower().startswith("/set"):
        assert bench.stored() == before


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(parts=st.lists(st.sampled_from(sorted(set(GOOD) & set(KEYS))), min_size=1, max_size=5, unique=True).flatmap(
    lambda ks: st.tuples(*[st.sampled_from(GOOD[k]).map(lambda v, k=k: f"{k}={v}") for k in ks])),
       bad=st.one_of(assignments, st.sampled_from(["topn=0", "lookback=0d", "every=2d", "timezone=Mars/Base",
                                                   "invest_fraction=NaN", "quote=BUSD", "topn=1e999"])),
       at=st.integers(0, 5))
def test_one_bad_part_of_a_set_changes_nothing(bench: Bench, parts: tuple[str, ...], bad: str, at: int) -> None:
    line = list(parts)
    line.insert(min(at, len(line)), bad)
    bench.reset()
    before = bench.stored()
    reply = bench.ask("/set " + " ".join(line))
    count("fuzz cases tried (console dispatch)")
    assert_clear(reply.text)
    try:
        expected = parse_assignments(line, before[0])[0]
        refused = expected.quote != bench.world.services.quote  # the account's cash asset never changes
    except UserError:
        refused = True
    if refused:  # one part is bad: nothing at all changed
        assert reply.text.startswith("⚠") and bench.stored() == before
    else:  # the drawn 'bad' part happened to be valid: then all of it applies
        assert bench.stored()[0] == expected


# ---- the Telegram path: what the fake Bot API accepted, per message -------------------------------------------

def _params_table(path: Path) -> dict[str, str]:
    with sqlite3.connect(path) as conn:  # a reader of its own: the bot's connection belongs to the bot's thread
        return dict(conn.execute("SELECT key, value FROM params").fetchall())


def test_telegram_replies_are_within_limits_and_valid_html(tmp_path: Path) -> None:
    world = World(tmp_path / "tg.sqlite", clock=ManualClock(NOW + timedelta(minutes=30)))
    fake = FakeTelegram(token=TOKEN)
    fake.start()
    chats = iter(range(-2000, -100_000, -1))  # one group chat per message: its replies are all and only its own

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(name=st.sampled_from([c.name for c in COMMANDS]), args=arguments)
    @example(name="ranking", args="500")
    @example(name="set", args="<b>topn</b>=5 &amp;")
    def one(name: str, args: str) -> None:
        text = f"/{name} {args}"[:4096]  # Telegram refuses longer messages from people
        chat = next(chats)
        params, table = world.services.params, _params_table(tmp_path / "tg.sqlite")
        fake.send_text(ADMIN, text, chat_id=chat, chat_type="group")
        first = fake.wait_for(lambda m: m.chat_id == chat, timeout=15)
        count("fuzz cases tried (Telegram)")
        assert_clear(first.text)
        if name != "set" or first.text.startswith("⚠"):
            assert world.services.params == params and _params_table(tmp_path / "tg.sqlite") == table

    async def scenario() -> None:
        await asyncio.to_thread(one)
        await asyncio.sleep(0.5)  # charts drawn after the text

    # Every case's group may see data, and nobody is rate limited: this test is about what replies look like.
    cfg = dataclasses.replace(config(fake), allowed_chats=frozenset(range(-2000, -3000, -1)),
                              limits=Limits(burst=1000, queue=1000))
    try:
        run_with_bot(world, fake, scenario, cfg)
    finally:
        fake.stop()
    refused = [c for c in fake.calls if c.status != 200 and c.method.lower().startswith("send")]
    assert not refused, f"Telegram refused {len(refused)} sends: {refused[0].params}"
    for message in fake.sent:
        assert len(message.text) <= (4096 if message.kind == "text" else 1024)

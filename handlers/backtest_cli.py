"""`bot.py backtest`, `bot.py data` and `bot.py costs`: offline commands that need neither Telegram nor the ledger.

They are dispatched before bot.py imports the bot's front ends, so a backtest starts in a fraction
of a second; matplotlib is imported only when a chart is asked for. bot.py loads the settings (the same
object the bot reads) and hands this module the candle cache's path (KLINE_DB_PATH) and the composition
root's way to open it as a CandleCache port: this module parses, calls and prints.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

from handlers import backtest_flags, costs_cli
from handlers.sweep_heatmaps import HeatmapPainter
from handlers.offline_argv import GLOBAL_WITH_VALUE, HELP
from tradingbot.core.backtest import options
from tradingbot.core.backtest.config import BacktestConfig
from tradingbot.core.backtest.metrics import METRICS
from tradingbot.app.backtester import Backtester, SweepRow
from tradingbot.app.ports import BacktestRuns, CandleCache, FilledOrders
from tradingbot.core.errors import UserError
from tradingbot.core.params import StrategyParams


def add_subcommands(sub: argparse._SubParsersAction) -> None:
    """The backtest, data and costs subcommands, on bot.py's parser (for --help) and on this module's own."""
    backtest = sub.add_parser("backtest", help=HELP["backtest"])
    backtest_flags.add_arguments(backtest)
    data = sub.add_parser("data", help=HELP["data"])
    verbs = data.add_subparsers(dest="verb", required=True)
    imp = verbs.add_parser("import", help="load Binance public-data dumps or long CSV files")
    imp.add_argument("files", nargs="+", metavar="FILE")
    imp.add_argument("--interval", help="the interval the files hold, checked against their open times "
                     "(default: read from them)")
    fetch = verbs.add_parser("fetch", help="download klines from Binance (incremental, resumable)")
    fetch.add_argument("--symbols", help="comma-separated (default: every USDT symbol)")
    fetch.add_argument("--interval", default="1d")
    fetch.add_argument("--since", default="2017-01-01", help="first day for a symbol not cached yet")
    fetch.add_argument("--api-url", help="REST base, e.g. a mirror (default Binance's)")
    fetch.add_argument("--weight-per-minute", type=int, default=600, help="request weight budget (Binance allows 6000)")
    synth = verbs.add_parser("synth", help="write the synthetic market's candles (offline backtests)")
    synth.add_argument("--days", type=int, default=365, help="days from 2024-01-01 (default 365)")
    synth.add_argument("--symbols", type=int, default=240, help="symbols in the market (default 240)")
    synth.add_argument("--interval", default="1h", choices=("1h", "4h", "1d", "1w"))
    synth.add_argument("--seed", type=int, default=7, help="the market's seed (SYNTHETIC_SEED of the demo: 7)")
    for p in (imp, fetch, synth):
        p.add_argument("--cache", metavar="PATH", help="the candle cache (default: KLINE_DB_PATH)")
    costs_cli.add_subcommand(sub)


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bot.py")
    for flag in GLOBAL_WITH_VALUE:
        parser.add_argument(flag, dest=flag[2:].replace("-", "_"), default=".env" if flag == "--env-file" else None)
    parser.add_argument("--demo", action="store_true")
    add_subcommands(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


OpenCache = Callable[[Path], CandleCache]
OpenRuns = Callable[[], BacktestRuns | None]


def _no_orders() -> FilledOrders:
    raise UserError("no bot database given")


def main(args: argparse.Namespace, open_cache: OpenCache, kline_db_path: Path,
         open_runs: OpenRuns = lambda: None, open_orders: costs_cli.OpenOrders = _no_orders) -> int:
    """Run a parsed offline command on the candle cache: --cache, else KLINE_DB_PATH from the settings; a
    backtest's result is kept for the dashboard where `open_runs` gives a place (the bot's database), and
    `costs calibrate` reads the filled orders `open_orders` gives (the same database)."""
    try:
        cache = open_cache(Path(args.cache) if args.cache else kline_db_path)
        if args.command == "backtest":
            return backtest(args, cache, open_runs)
        if args.command == "costs":
            return costs_cli.calibrate(args, open_orders, cache)
        return data(args, cache)
    except UserError as e:
        print(f"⚠ {e}", file=sys.stderr)
        return 1


def _progress(text: str) -> None:
    print(f"  … {text}", file=sys.stderr, flush=True)


def backtest(args: argparse.Namespace, cache: CandleCache, open_runs: OpenRuns = lambda: None) -> int:
    if args.calibrate_k:
        return costs_cli.calibrate_csv(Path(args.calibrate_k), args.json)
    base = BacktestConfig(StrategyParams())
    config = options.config_from_pairs(backtest_flags.pairs_from_args(args), base.params, base)
    tester = Backtester(cache.source(Path(args.data) if args.data else None))
    quiet = (lambda _: None) if args.json else _progress
    if args.sweep:
        return _sweep(args, tester, config, open_runs)
    if args.capacity:
        return _capacity(args, tester, config)
    report = tester.run(config, quiet)
    from handlers.backtest_text import describe, report_json, report_text

    if (runs := open_runs()) is not None:
        runs.add_run(report, describe(report.config), "cli", datetime.now(timezone.utc))

    print(json.dumps(report_json(report)) if args.json else report_text(report))
    if args.chart:
        from charts.backtest import backtest_equity_chart

        Path(args.chart).write_bytes(backtest_equity_chart(report))
        quiet(f"equity chart saved to {args.chart}")
    return 0


def _capacity(args: argparse.Namespace, tester: Backtester, config: BacktestConfig) -> int:
    from handlers.backtest_text import capacity_json, capacity_text
    from tradingbot.core.backtest.capacity import parse_capitals

    result = tester.capacity(config, parse_capitals(args.capacity), (lambda _: None) if args.json else _progress)
    print(json.dumps(capacity_json(result)) if args.json else capacity_text(result))
    if args.chart:
        from charts.capacity import capacity_chart
        from handlers.backtest_text import describe

        Path(args.chart).write_bytes(capacity_chart(result, describe(result.config)))
        _progress(f"capacity chart saved to {args.chart}")
    return 0


def _sweep(args: argparse.Namespace, tester: Backtester, config: BacktestConfig, open_runs: OpenRuns) -> int:
    from handlers.backtest_text import metrics_json, sweep_table

    if args.sort not in METRICS:  # before the runs: a typo must not cost a whole sweep
        raise UserError(f"--sort must be one of {', '.join(METRICS)} (got {args.sort!r})")
    keys, combos = options.sweep_grid(args.sweep)
    fixed = backtest_flags.pairs_from_args(args)
    painter = HeatmapPainter(len(keys) >= 2)  # imports matplotlib while the runs go
    try:
        rows = tester.sweep(config, combos, lambda c: options.config_from_pairs([*fixed, *c], config.params,
                                                                               config), _progress)
        if (runs := open_runs()) is not None:
            runs.add_sweep(keys, rows, args.sort, "cli", datetime.now(timezone.utc))
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        write_csv(out / "sweep.csv", keys, rows)
        if args.json:
            print(json.dumps([{**dict(p.split("=", 1) for p in r.pairs), **metrics_json(r.metrics)} for r in rows]),
                  flush=True)
        pngs = painter.draw(out, keys, rows, args.sort)
    finally:
        painter.close()
    if not args.json:
        print(sweep_table(rows, keys, args.sort))
        print(f"\nCSV: {out / 'sweep.csv'}" + "".join(f"\nheatmap: {p}" for p in pngs))
    return 0


def write_csv(path: Path, keys: Sequence[str], rows: Sequence[SweepRow]) -> None:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        metrics = list(rows[0].metrics)
        w.writerow([*keys, *metrics])
        for r in rows:
            # A figure not reported (an annualised one of a short window) is an empty cell, not "nan"
            w.writerow([p.split("=", 1)[1] for p in r.pairs] + [_cell(r.metrics[m]) for m in metrics])


def _cell(v: float) -> str:
    return "" if math.isnan(v) else repr(v)


def data(args: argparse.Namespace, cache: CandleCache) -> int:
    if args.verb == "import":
        return _import(cache, args)
    if args.verb == "synth":
        return _synth(cache, args)
    return _fetch(cache, args)


def _synth(cache: CandleCache, args: argparse.Namespace) -> int:
    import asyncio

    from tqdm import tqdm

    if not 1 <= args.days <= 2500 or not 50 <= args.symbols <= 2000:
        raise UserError("--days must be 1 to 2500 and --symbols 50 to 2000")
    symbols, candles = asyncio.run(cache.synth(args.days, args.symbols, args.interval, args.seed,
                                               lambda xs: tqdm(xs, unit="symbol", file=sys.stderr)))
    print(f"wrote {candles:,} synthetic {args.interval} candles of {symbols} symbols into {cache.path}")
    return _prepare(cache, {args.interval})


def _prepare(cache: CandleCache, intervals: set[str]) -> int:
    """Build the panel copies of the intervals written, so the next backtest maps them at once. The data is
    written by now: a copy that cannot be built is one line, and the first backtest builds it instead."""
    for interval in sorted(intervals):
        try:
            cache.prepare(interval)
        except Exception as e:  # noqa: BLE001 - whatever goes wrong here, the data command has done its work
            print(f"could not prepare the {interval} candles for backtests ({type(e).__name__}: {e}); "
                  f"the first backtest will", file=sys.stderr)
    return 0


def _import(cache: CandleCache, args: argparse.Namespace) -> int:
    files = [Path(f) for f in args.files]
    missing = [str(f) for f in files if not f.exists()]
    if missing:
        raise UserError(f"no such file: {', '.join(missing)}")
    try:
        report = cache.import_files(files, args.interval, _progress)
    except ValueError as e:
        raise UserError(str(e)) from None
    for bad in report.bad[:50]:
        print(f"bad row: {bad}", file=sys.stderr)
    if len(report.bad) > 50:
        print(f"… and {len(report.bad) - 50} more bad rows", file=sys.stderr)
    print(f"imported {report.rows:,} candles of {len(report.symbols)} symbols from {report.files} file(s) into "
          f"{cache.path}")
    for flag, n in report.skipped.items():
        print(f"left out {n:,} rows flagged {flag}")
    for flag, n in report.flagged.items():
        print(f"kept unchanged {n:,} rows flagged {flag}")
    if report.bad:
        print(f"{len(report.bad):,} bad row(s) not imported (listed on stderr)")
    return _prepare(cache, report.intervals)


def _fetch(cache: CandleCache, args: argparse.Namespace) -> int:
    import asyncio

    from tqdm import tqdm

    from tradingbot.core.backtest.panel import DAY_MS, day_number

    since = day_number(options.parse_day("--since", args.since)) * DAY_MS
    symbols = [s.strip().upper() for s in args.symbols.split(",")] if args.symbols else None
    report = asyncio.run(cache.fetch(symbols, args.interval, since, args.api_url, args.weight_per_minute,
                                     progress=lambda xs: tqdm(xs, unit="symbol", file=sys.stderr)))
    print(f"fetched {report.candles:,} candles of {report.symbols} symbols in {report.requests} requests into "
          f"{cache.path}")
    return _prepare(cache, {args.interval})

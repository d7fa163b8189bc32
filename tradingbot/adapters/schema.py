"""Schema migrations: MIGRATIONS[i] takes a database from version i to i + 1. Only ever append.

Decimal columns are TEXT so money stays exact; the bi_* views cast them for BI tools.
Times are ISO-8601 UTC text (2026-11-24T09:00:00.000Z), which sorts correctly.
"""

V1 = [
    "CREATE TABLE bot_state (key TEXT PRIMARY KEY, value TEXT)",
    "CREATE TABLE params (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE param_changes (
        id INTEGER PRIMARY KEY, time TEXT NOT NULL, who TEXT NOT NULL,
        key TEXT NOT NULL, old TEXT, new TEXT)""",
    """CREATE TABLE deposits (
        id INTEGER PRIMARY KEY, time TEXT NOT NULL, asset TEXT NOT NULL, amount TEXT NOT NULL, note TEXT)""",
    """CREATE TABLE account (
        quote TEXT PRIMARY KEY, cash TEXT NOT NULL, deposits TEXT NOT NULL, fees TEXT NOT NULL, updated_at TEXT)""",
    """CREATE TABLE positions (
        asset TEXT PRIMARY KEY, quantity TEXT NOT NULL, cost TEXT NOT NULL, realized TEXT NOT NULL,
        fees TEXT NOT NULL, updated_at TEXT)""",
    """CREATE TABLE rebalances (
        id INTEGER PRIMARY KEY, slot TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, state TEXT NOT NULL,
        started_at TEXT NOT NULL, finished_at TEXT, strategy TEXT, mode TEXT, targets TEXT NOT NULL,
        equity_before TEXT NOT NULL, equity_after TEXT, turnover TEXT NOT NULL, fees TEXT NOT NULL,
        signal_to_fill_ms REAL, note TEXT)""",
    """CREATE TABLE orders (
        client_order_id TEXT PRIMARY KEY, rebalance_id INTEGER REFERENCES rebalances(id), slot TEXT NOT NULL,
        leg TEXT NOT NULL, symbol TEXT NOT NULL, side TEXT NOT NULL, requested_qty TEXT, requested_quote TEXT,
        est_price TEXT, status TEXT NOT NULL, exchange_order_id TEXT, error_code INTEGER, error TEXT,
        created_at TEXT NOT NULL, updated_at TEXT NOT NULL)""",
    "CREATE INDEX orders_slot ON orders(slot)",
    """CREATE TABLE fills (
        id INTEGER PRIMARY KEY, client_order_id TEXT NOT NULL REFERENCES orders(client_order_id),
        rebalance_id INTEGER REFERENCES rebalances(id), symbol TEXT NOT NULL, side TEXT NOT NULL,
        price TEXT NOT NULL, quantity TEXT NOT NULL, quote_quantity TEXT NOT NULL, commission TEXT NOT NULL,
        commission_asset TEXT NOT NULL, fee_quote TEXT NOT NULL, time TEXT NOT NULL, trade_id TEXT)""",
    "CREATE INDEX fills_rebalance ON fills(rebalance_id)",
    """CREATE TABLE inventory (
        id INTEGER PRIMARY KEY, time TEXT NOT NULL, rebalance_id INTEGER REFERENCES rebalances(id),
        asset TEXT NOT NULL, quantity TEXT NOT NULL, price TEXT, value TEXT NOT NULL)""",
    "CREATE INDEX inventory_time ON inventory(time)",
    """CREATE TABLE equity_marks (
        id INTEGER PRIMARY KEY, time TEXT NOT NULL, equity TEXT NOT NULL, cash TEXT NOT NULL,
        positions_value TEXT NOT NULL, source TEXT NOT NULL)""",
    "CREATE INDEX equity_marks_time ON equity_marks(time)",
    # Views with REAL columns for dashboards; the tables above stay the exact record.
    """CREATE VIEW bi_equity AS SELECT time, CAST(equity AS REAL) AS equity, CAST(cash AS REAL) AS cash,
        CAST(positions_value AS REAL) AS positions_value, source FROM equity_marks""",
    """CREATE VIEW bi_fills AS SELECT f.time, f.symbol, f.side, CAST(f.price AS REAL) AS price,
        CAST(f.quantity AS REAL) AS quantity, CAST(f.quote_quantity AS REAL) AS quote_quantity,
        CAST(f.fee_quote AS REAL) AS fee_quote, r.slot FROM fills f LEFT JOIN rebalances r ON r.id = f.rebalance_id""",
    """CREATE VIEW bi_rebalances AS SELECT slot, kind, state, started_at, finished_at, strategy, mode,
        CAST(equity_before AS REAL) AS equity_before, CAST(equity_after AS REAL) AS equity_after,
        CAST(turnover AS REAL) AS turnover, CAST(fees AS REAL) AS fees, signal_to_fill_ms FROM rebalances""",
]

# V2: the full ranked table each rebalance acted on (what /ranking showed at that moment).
V2 = [
    """CREATE TABLE rankings (
        id INTEGER PRIMARY KEY, rebalance_id INTEGER NOT NULL REFERENCES rebalances(id), rank INTEGER,
        symbol TEXT NOT NULL, score TEXT, quote_volume TEXT NOT NULL, eligible INTEGER NOT NULL,
        selected INTEGER NOT NULL, reason TEXT NOT NULL)""",
    "CREATE INDEX rankings_rebalance ON rankings(rebalance_id)",
]

# V3: one row per venue trade, so no path can book the same execution twice.
V3 = ["CREATE UNIQUE INDEX fills_once ON fills(client_order_id, trade_id)"]

# V4: pushes waiting for delivery (no alert is dropped silently: each row ends sent or failed, with why).
V4 = [
    """CREATE TABLE outbox (
        id INTEGER PRIMARY KEY, created_at TEXT NOT NULL, chat_id INTEGER NOT NULL, kind TEXT NOT NULL,
        body TEXT NOT NULL, silent INTEGER NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT, sent_at TEXT)""",
    "CREATE INDEX outbox_pending ON outbox(status, chat_id, id)",
]

# V5: benchmarks marked beside equity (BTC price, equal-weight universe index) and photos for pushed albums.
V5 = [
    """CREATE TABLE benchmark_marks (
        id INTEGER PRIMARY KEY, time TEXT NOT NULL, btc_price TEXT, universe_index TEXT NOT NULL,
        universe_size INTEGER NOT NULL)""",
    "CREATE INDEX benchmark_marks_time ON benchmark_marks(time)",
    """CREATE TABLE outbox_photos (
        outbox_id INTEGER NOT NULL REFERENCES outbox(id), position INTEGER NOT NULL, name TEXT NOT NULL,
        png BLOB NOT NULL, PRIMARY KEY (outbox_id, position))""",
]

# V6: venue-vs-ledger differences found by reconciliation (recorded, reported, never written over).
V6 = [
    """CREATE TABLE reconciliations (
        id INTEGER PRIMARY KEY, time TEXT NOT NULL, asset TEXT NOT NULL, venue_change TEXT NOT NULL,
        ledger_change TEXT NOT NULL)""",
]

# V7: the market caps last read from their source (CoinGecko), with when, for the min_market_cap filter.
V7 = [
    """CREATE TABLE market_caps (
        coin_id TEXT PRIMARY KEY, symbol TEXT NOT NULL, market_cap TEXT NOT NULL, read_at TEXT NOT NULL)""",
]

# V8: the web dashboard's sign-in: one-time links (only their hash) and the key that signs session cookies,
# with a generation that `/dashboard revoke` moves on (every cookie of an older generation is refused).
V8 = [
    """CREATE TABLE dashboard_links (
        hash TEXT PRIMARY KEY, created_at TEXT NOT NULL, expires_at TEXT NOT NULL, used_at TEXT, who TEXT NOT NULL)""",
    """CREATE TABLE dashboard_keys (
        id INTEGER PRIMARY KEY CHECK (id = 1), secret TEXT NOT NULL, generation INTEGER NOT NULL)""",
    # Backtests run from the chat or `bot.py backtest`, kept for the dashboard: JSON documents (see backtest_runs).
    """CREATE TABLE backtest_runs (
        id INTEGER PRIMARY KEY, time TEXT NOT NULL, who TEXT NOT NULL, kind TEXT NOT NULL, summary TEXT NOT NULL,
        result TEXT NOT NULL)""",
]

# V9: the newest priced snapshot and the newest fill of each asset, found by seeking an index instead of
# grouping every row ever written (/status and /pnl read them on every call; issue 17).
V9 = [
    "CREATE INDEX inventory_priced ON inventory(asset, id) WHERE price IS NOT NULL",
    "CREATE INDEX fills_symbol ON fills(symbol, id)",
]

# V10: where the money went between the signal and the fill (issue 14): the last prices at ranking time, each
# order's mid at the signal, its mid and best quote when sent and its average fill price, and which model priced
# each paper fill ('book' or 'flat'; NULL for a venue's own fills).
V10 = [
    "ALTER TABLE rebalances ADD COLUMN signal_prices TEXT",
    "ALTER TABLE orders ADD COLUMN signal_mid TEXT",
    "ALTER TABLE orders ADD COLUMN send_mid TEXT",
    "ALTER TABLE orders ADD COLUMN send_touch TEXT",
    "ALTER TABLE orders ADD COLUMN avg_price TEXT",
    "ALTER TABLE fills ADD COLUMN priced_by TEXT",
]

MIGRATIONS: list[list[str]] = [V1, V2, V3, V4, V5, V6, V7, V8, V9, V10]

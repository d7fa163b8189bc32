"""The two venues a crash test kills the bot on, each handing out fresh copies of one prepared account.

paper: --demo, the paper venue's tables inside the bot's database. testnet: EXCHANGE=testnet against local
Binance-compatible servers (python -m standins.binance_api) whose clocks stand still at the slot.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from tests.builders import NO_ENV_FILE
from tests.crash_harness import (
    CAPITAL, PREVIOUS, QUOTE, SEED, SLOT_TIME, SYMBOLS, Outcome, copy_database, fill_key, journal_view,
    run_bot,
)
from tests.local_binance import LocalBinance
from tradingbot.adapters.sqlite_store import open_database

ORDER_PATH = "/api/v3/order"


def prepare_account(argv: list[str], env: dict[str, str], logs: Path, topn: int) -> None:
    """The account's history before the slot under test: topn set, then one rebalance the day before."""
    run = run_bot([*argv, "--clock", PREVIOUS, "chat", f"/set topn={topn}", "/rebalance_now", "/confirm"], env, logs)
    assert run.code == 0 and " done " in run.stdout, run.stdout + run.stderr[-2000:]


@dataclass
class Account:
    """One fresh bot database, and (on the Binance venue) its own account on a local server."""

    db: Path
    env: dict[str, str]
    server: Server | None = None
    key: str = ""


class PaperVenue:
    """The paper venue on the synthetic market (--demo): its tables live in the bot's own database."""

    def __init__(self, work: Path):
        self.work = work
        self.env = {"SYNTHETIC_SYMBOLS": str(SYMBOLS), "SYNTHETIC_SEED": str(SEED)}
        self.prepared = work / "prepared.sqlite"

    def argv(self, account: Account) -> list[str]:
        return ["--env-file", NO_ENV_FILE, "--db", str(account.db), "--demo"]

    def prepare(self, env: dict[str, str], topn: int) -> None:
        account = Account(self.prepared, {**env, **self.env})
        prepare_account(self.argv(account), account.env, self.work / "prepare", topn)

    def fresh(self, name: str, worker: int) -> Account:
        db = self.work / f"{name}.sqlite"
        copy_database(self.prepared, db)
        return Account(db, dict(self.env))

    def outcome(self, account: Account) -> Outcome:
        journal = journal_view(account.db)
        conn = open_database(account.db).conn
        try:
            balances = {a: Decimal(v) for a, v in conn.execute("SELECT asset, free FROM paper_balances") if Decimal(v)}
            venue = [c for (c,) in conn.execute("SELECT client_order_id FROM paper_orders")]
            rows = conn.execute("SELECT client_order_id, trade_id, price, qty, commission, commission_asset"
                                " FROM paper_fills").fetchall()
        finally:
            conn.close()
        fills = [fill_key(c, t, Decimal(p), Decimal(q), Decimal(m), a) for c, t, p, q, m, a in rows]
        return journal.outcome(balances, venue, fills)

    def sends(self, account: Account) -> int | None:
        """Unknown: the paper venue refuses a second send of an id (as Binance does while it is open) unseen."""
        return None

    def close(self) -> None:
        pass


class Server(LocalBinance):
    """A local Binance-compatible server with a stopped clock, holding one account per kill point."""

    @classmethod
    def stopped_at(cls, clock: str) -> Server:
        return cls.start("--symbols", str(SYMBOLS), "--seed", str(SEED), "--clock", clock, "--frozen",
                         "--weight-limit", "1000000000")

    def set_clock(self, at: str) -> None:
        """Move the stopped clock; stepping a minute away and back also starts a new request-weight minute.

        The weight meter counts per clock minute, and a stopped clock never leaves its minute: without a
        fresh window the bot would see its weight budget spent and wait out a real minute.
        """
        self.control("clock", {"advance_seconds": 60})
        self.control("state")
        self.control("clock", {"set": at})
        self.control("state")

    def order_requests(self, clear: bool = False) -> int:
        """POST /api/v3/order requests since the log was last cleared: every attempt to send an order."""
        seen = self.control("requests", {"clear": True} if clear else None)
        return sum(1 for method, path, _weight, _status in seen if (method, path) == ("POST", ORDER_PATH))

    def account_env(self, key: str) -> dict[str, str]:
        return {**self.env(key, f"secret-{key}"), "BINANCE_WEIGHT_BUDGET": "6000"}


class BinanceVenue:
    """EXCHANGE=testnet against local servers (one per worker, so resetting a clock never moves another run's)."""

    def __init__(self, work: Path, servers: int):
        self.work = work
        with ThreadPoolExecutor(servers) as pool:  # each start is a second of imports: all at once
            self.servers = list(pool.map(lambda _: Server.stopped_at(PREVIOUS), range(servers)))
        self.prepared = work / "prepared.sqlite"
        self.kline_cache = str(work / "klines.sqlite")  # market data cache, shared like a real one (not the bot's DB)
        self.balances: dict[str, str] = {}

    def argv(self, account: Account) -> list[str]:
        return ["--env-file", NO_ENV_FILE, "--db", str(account.db)]

    def prepare(self, env: dict[str, str], topn: int) -> None:
        server = self.servers[0]
        server.control("account", {"api_key": "prepare", "api_secret": "secret-prepare", "balances": {QUOTE: CAPITAL}})
        account = Account(self.prepared, {**env, **server.account_env("prepare"), "KLINE_DB_PATH": self.kline_cache},
                          server, "prepare")
        prepare_account(self.argv(account), account.env, self.work / "prepare", topn)
        self.balances = server.control("balances", query="?api_key=prepare")
        for s in self.servers:
            s.set_clock(SLOT_TIME)

    def fresh(self, name: str, worker: int) -> Account:
        """A copy of the prepared database, and a new account holding what the prepared one held."""
        server = self.servers[worker % len(self.servers)]
        server.set_clock(SLOT_TIME)
        server.order_requests(clear=True)
        db = self.work / f"{name}.sqlite"
        copy_database(self.prepared, db)
        server.control("account", {"api_key": name, "api_secret": f"secret-{name}", "balances": self.balances})
        return Account(db, {**server.account_env(name), "KLINE_DB_PATH": self.kline_cache}, server, name)

    def outcome(self, account: Account) -> Outcome:
        assert account.server is not None
        query = f"?api_key={account.key}"
        balances = {a: Decimal(v) for a, v in account.server.control("balances", query=query).items()}
        executed = account.server.control("orders", query=query)
        fills = [fill_key(o["clientOrderId"], t["tradeId"], Decimal(t["price"]), Decimal(t["qty"]),
                          Decimal(t["commission"]), t["commissionAsset"]) for o in executed for t in o["fills"]]
        return journal_view(account.db).outcome(balances, [o["clientOrderId"] for o in executed], fills)

    def sends(self, account: Account) -> int | None:
        """Order requests the account's server received since fresh() (workers never share a server)."""
        assert account.server is not None
        return account.server.order_requests()

    def close(self) -> None:
        for s in self.servers:
            s.stop()

"""What the dashboard's read-only store keeps of the bot's append-only history, as floats: the equity marks and
the inventory snapshots. A later read fetches only the rows added since (by id), so the first page after a
write costs the new rows, not a year; anything but a plain append (a mark older than the newest kept, another
database) reads everything again. Callers hold the store's lock."""
from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from ..core.performance import day_ends
from ..core.timefmt import parse_iso

COINS = "*coins"  # an inventory snapshot's key for the sum of its coins (no asset is named with a '*')


class _Appended:
    """Rows of one table taken in id order. The bot only appends to these tables; the newest row kept is
    looked up again (one index seek) so a database that is not the one read before starts over."""

    table = ""

    def __init__(self) -> None:
        self.top, self.top_time = 0, ""  # the newest id read, and its time

    def _new_rows(self, db: Any, sql: str) -> tuple[bool, list[tuple]]:
        """(whether to start again, the rows after the newest kept, or every row when starting again)."""
        row = db.execute(f"SELECT time FROM {self.table} WHERE id = ?", [self.top]).fetchone()
        same = (row[0] if row else "") == self.top_time
        return not same, self._after(db, sql, self.top if same else 0)

    @staticmethod
    def _after(db: Any, sql: str, top: int) -> list[tuple]:
        # By id in SQL (a seek past the newest kept), then by time here: an ORDER BY time would walk every row
        return sorted(db.execute(sql, [top]).fetchall(), key=lambda r: (r[1], r[0]))

    def _kept(self, rid: int, time: str) -> None:
        if rid > self.top:
            self.top, self.top_time = rid, time


class TimeSeries(_Appended):
    """(id, epoch seconds, value columns as floats) of every row of a table of marks, ordered by time then id;
    `first` is the oldest row's time as stored (exact, for finding what was marked beside it)."""

    def __init__(self, table: str, *values: str) -> None:
        super().__init__()
        self.table = table
        self.sql = f"SELECT id, time, {', '.join(values)} FROM {table} WHERE id > ? ORDER BY id"
        self.ids: list[int] = []
        self.times: list[float] = []
        self.columns: list[list[Any]] = [[] for _ in values]
        self.first = ""
        self.reloads = 0  # read all again this many times (what was derived from the series is void)

    def read(self, db: Any) -> "TimeSeries":
        again, rows = self._new_rows(db, self.sql)
        times = [parse_iso(r[1]).timestamp() for r in rows]
        if not again and times and self.times and times[0] < self.times[-1]:  # marked out of order
            again, rows = True, self._after(db, self.sql, 0)
            times = [parse_iso(r[1]).timestamp() for r in rows]
        if again:
            self.ids, self.times, self.columns = [], [], [[] for _ in self.columns]
            self.top, self.top_time, self.first = 0, "", ""
            self.reloads += 1
        for r in rows:
            self._kept(r[0], r[1])
        self.first = self.first or (rows[0][1] if rows else "")
        self.ids += [r[0] for r in rows]
        self.times += times
        for i, column in enumerate(self.columns):
            column += [r[2 + i] for r in rows]
        return self


class InventorySnapshots(_Appended):
    """(time, {asset: value, COINS: every coin's value summed}) of each inventory snapshot (one per rebalance,
    written in one transaction)."""

    table = "inventory"
    SQL = "SELECT id, time, asset, CAST(value AS REAL) FROM inventory WHERE id > ? ORDER BY id"

    def __init__(self, quote: str) -> None:
        super().__init__()
        self.quote = quote
        self.snapshots: list[tuple[str, dict[str, float]]] = []

    def read(self, db: Any) -> list[tuple[str, dict[str, float]]]:
        again, rows = self._new_rows(db, self.SQL)
        if not again and rows and self.snapshots and rows[0][1] < self.snapshots[-1][0]:
            again, rows = True, self._after(db, self.SQL, 0)
        if again:
            self.snapshots, self.top, self.top_time = [], 0, ""
        for rid, t, asset, value in rows:
            if not self.snapshots or self.snapshots[-1][0] != t:
                self.snapshots.append((t, {}))
            held = self.snapshots[-1][1]
            held[asset] = held.get(asset, 0.0) + value
            if asset != self.quote:
                held[COINS] = held.get(COINS, 0.0) + value
            self._kept(rid, t)
        return self.snapshots


class DayEnds:
    """Where each local day's last mark sits in the marks' TimeSeries, for one zone: as marks are appended only the
    last day is searched again, so a new mark costs a few time-zone conversions, not a year's ~1,100."""

    def __init__(self) -> None:
        self.key: tuple[str, int] | None = None
        self.ends: list[int] = []
        self.seen = 0  # marks the ends were found among

    def ids(self, marks: TimeSeries, zone: ZoneInfo) -> list[int]:
        """Ids of the first mark and the last of each local day."""
        ends = self.indices(marks, zone)
        return [marks.ids[i] for i in sorted({0, *ends})] if marks.ids else []

    def indices(self, marks: TimeSeries, zone: ZoneInfo) -> list[int]:
        """Positions of the last mark of each local day in the series."""
        if (zone.key, marks.reloads) != self.key:
            self.key, self.ends, self.seen = (zone.key, marks.reloads), [], 0
        if len(marks.times) != self.seen:
            start = self.ends[-2] + 1 if len(self.ends) > 1 else 0  # the last day may have more marks now
            kept = self.ends[:-1] if len(self.ends) > 1 else []
            self.ends = kept + [start + i for i in day_ends(marks.times[start:], zone)]
            self.seen = len(marks.times)
        return self.ends

"""A sweep's heatmaps, drawn by a forked process that imports the plotting library while the runs go.

Drawing them costs ~0.7 s of CPU, two thirds of it importing matplotlib; a sweep otherwise spends its time
in the runs, which the pool's workers do while this process waits. The painter is forked before them, so the
import overlaps the runs wherever a core is free, and the files are drawn once the rows are there (after the
JSON is printed, with `--json`). Where processes cannot be forked, the heatmaps are drawn in this process.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:  # multiprocessing loads when a sweep starts, not with every offline command
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

    from tradingbot.core.backtest.report import SweepRow


def write_heatmaps(out: Path, keys: Sequence[str], rows: Sequence[SweepRow], metric: str) -> list[Path]:
    """One heatmap of the metric over the first two swept keys per value of the others."""
    if len(keys) < 2:
        return []
    from charts.backtest import sweep_heatmap
    from handlers.backtest_text import fixed_settings

    groups: dict[tuple[str, ...], list[SweepRow]] = {}
    for r in rows:
        groups.setdefault(tuple(r.pairs[2:]), []).append(r)
    paths = []
    for rest, members in groups.items():
        name = "_".join(["heatmap", metric, *(p.replace("=", "-") for p in rest)]) + ".png"
        title = f"{metric} by {keys[0]} and {keys[1]}" + (f" ({', '.join(rest)})" if rest else "")
        settings = fixed_settings(members, keys)
        (out / name).write_bytes(sweep_heatmap(members, keys[0], keys[1], metric, title, settings))
        paths.append(out / name)
    return paths


class HeatmapPainter:
    """Start it before the runs, `draw` once they are done, `close` in any case."""

    def __init__(self, wanted: bool) -> None:
        import multiprocessing as mp

        self.conn: Connection | None = None
        self.process: BaseProcess | None = None
        if wanted and "fork" in mp.get_all_start_methods():
            ctx = mp.get_context("fork")
            sys.stdout.flush()  # the child would write out whatever this process had buffered
            sys.stderr.flush()
            self.conn, theirs = ctx.Pipe()
            self.process = ctx.Process(target=_paint, args=(theirs, self.conn), name="sweep-heatmaps", daemon=True)
            self.process.start()
            theirs.close()

    def draw(self, out: Path, keys: Sequence[str], rows: Sequence[SweepRow], metric: str) -> list[Path]:
        """The heatmaps written into `out`; an error drawing them is raised here, as if drawn here."""
        if self.conn is None:
            return write_heatmaps(out, keys, rows, metric)
        try:
            self.conn.send((out, list(keys), list(rows), metric))
            paths, error = self.conn.recv()
        except (EOFError, OSError):  # the painter died (killed, out of memory): draw them here instead
            return write_heatmaps(out, keys, rows, metric)
        finally:
            self.close()
        if error is not None:
            raise error
        return paths

    def close(self) -> None:
        """Stop a painter still waiting for a job (the sweep failed), and wait for it to leave."""
        if self.conn is not None:
            try:
                self.conn.send(None)
            except OSError:  # it has left already
                pass
            self.conn.close()
            if self.process is not None:
                self.process.join()
            self.conn = None


def _paint(conn: Connection, parents: Connection) -> None:
    parents.close()  # the parent's end, inherited by the fork: with it open here, the parent's close is no EOF
    import charts.backtest  # noqa: F401  (matplotlib and the chart modules, while the parent runs the sweep)

    try:
        job = conn.recv()
    except EOFError:  # the parent is gone
        return
    if job is None:  # the sweep failed: nothing to draw
        return
    try:
        conn.send((write_heatmaps(*job), None))
    except Exception as e:  # noqa: BLE001 - handed back to the parent, which raises it
        conn.send(([], e))

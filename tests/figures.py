"""Counts the robustness tests report (fuzz cases, refused attempts, leaks); printed after the run."""
from __future__ import annotations

from collections import Counter

FIGURES: Counter[str] = Counter()
NOTES: list[str] = []  # whole lines a test reports (the crash matrix's per-venue summary)


def count(name: str, n: int = 1) -> None:
    FIGURES[name] += n


def note(line: str) -> None:
    NOTES.append(line)

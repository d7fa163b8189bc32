"""The test suite and the benchmarks depend on nothing outside their own temporary folders."""
from __future__ import annotations

import re
from pathlib import Path

from tests.builders import NO_ENV_FILE

ROOT = Path(__file__).resolve().parent.parent
# an argument list naming a fixed path such as /nonexistent, or load_settings(env_file=<a fixed path>)
FIXED_ENV_FILE = re.compile(r"""["']--env-file["']\s*,\s*["']/|env_file=["']/""")


def test_bot_runs_read_no_settings_file_from_a_fixed_path():
    # A fixed path may exist on some machine (as a folder, or a file with settings): the run then reads it or
    # stops with "not a file". A path inside a folder of the run's own cannot.
    sources = [*ROOT.glob("tests/*.py"), *ROOT.glob("benchmarks/*.py")]
    offenders = [f"{p.relative_to(ROOT)}:{n}" for p in sources
                 for n, line in enumerate(p.read_text().splitlines(), 1) if FIXED_ENV_FILE.search(line)]
    assert offenders == []
    assert not Path(NO_ENV_FILE).exists() and Path(NO_ENV_FILE).parent.is_dir()

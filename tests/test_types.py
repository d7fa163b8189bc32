"""The engine package type-checks (STYLE.md: type hints everywhere, checked by mypy on the core)."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_mypy_passes_on_the_engine():
    result = subprocess.run([sys.executable, "-m", "mypy", "tradingbot", "web"], cwd=ROOT, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]

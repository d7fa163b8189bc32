"""The bot's command as `make install` installs it, for benchmarks that time or weigh a whole bot process.

`make bench` adds pandas to the same environment (the naive baselines use it), and sqlite-utils imports pandas
whenever it is installed: ~0.1–0.2 s and ~30 MB at every start that an install without the bench extra never
pays. So these processes start bot.py with pandas hidden, as that install has it.
"""
from __future__ import annotations

import sys

_HIDE_PANDAS = ("import runpy, sys; sys.modules['pandas'] = None; sys.argv[0] = 'bot.py'; "
                "runpy.run_path('bot.py', run_name='__main__')")
BOT = [sys.executable, "-c", _HIDE_PANDAS]  # then bot.py's arguments; run from the project's folder

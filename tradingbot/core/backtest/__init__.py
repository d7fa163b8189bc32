"""The vectorised backtester: aligned daily arrays in, equity path and metrics out (pure, no I/O)."""

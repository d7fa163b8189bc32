"""iTradingBot: the pure core (core/), the use cases and their ports (app/), the adapters (adapters/), and the
composition modules that pick them (settings.py, venues.py). See docs/architecture.md."""

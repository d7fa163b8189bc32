"""Local stand-ins of outside services for end-to-end tests and demos.

Nothing is imported here: `python -m standins.telegram_api` imports this package first, and a submodule
it had already imported would run twice (runpy warns about exactly that). Import from the modules themselves.
"""

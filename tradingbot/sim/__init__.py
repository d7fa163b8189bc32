"""Local stand-ins of outside services for end-to-end tests and demos."""
from tradingbot.sim.telegram_api import FakeTelegram
from tradingbot.sim.telegram_methods import ApiCall, SentMessage

__all__ = ["ApiCall", "FakeTelegram", "SentMessage"]

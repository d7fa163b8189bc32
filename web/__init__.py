"""The web dashboard: an aiohttp app beside the chat front ends, reading the same reports."""

"""The use cases a person asks for, and the ports (Protocols) through which they reach the outside world.

Imports the core and this folder only: every adapter arrives through a constructor.
"""

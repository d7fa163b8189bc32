"""The pure core: domain types, money, parameters, ranking, planning, the ledger, schedules, backtest arithmetic.

No I/O, no clock, no globals: every function here can be called in a test without a network or a database.
"""

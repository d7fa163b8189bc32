"""iTradingBot engine: pure core, ports, adapters and services."""

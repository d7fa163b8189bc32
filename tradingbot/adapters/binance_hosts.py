"""Which hosts each Binance venue may talk to: the venue follows the host a URL really names, not the label.

EXCHANGE=testnet with BINANCE_API_URL on the production host would send real orders with real keys while
/status said "testnet". So every Binance URL is checked at start against the hosts of the venue it serves,
after normalising the host the way the HTTP and WebSocket clients will (case, port, trailing dot, userinfo,
IDNA). Loopback addresses are always allowed: the tests and the local Binance stand-in live there.
"""
from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

# From Binance's spot docs (see the project's Binance digest, section 1).
PRODUCTION_REST = frozenset({"api.binance.com", "api-gcp.binance.com", "api1.binance.com", "api2.binance.com",
                             "api3.binance.com", "api4.binance.com"})
REST_HOSTS = {
    "live": PRODUCTION_REST,
    "testnet": frozenset({"testnet.binance.vision", "api1.testnet.binance.vision"}),
    "demo": frozenset({"demo-api.binance.com"}),
}
# Market data is always production's (ranking never reads sandbox prices); no key is sent to these.
MARKET_DATA_REST = PRODUCTION_REST | {"data-api.binance.vision"}
STREAM_HOSTS = {
    "live": frozenset({"stream.binance.com", "data-stream.binance.vision"}),
    "testnet": frozenset({"stream.testnet.binance.vision"}),
    "demo": frozenset({"demo-stream.binance.com"}),
}
WS_API_HOSTS = {"live": frozenset({"ws-api.binance.com"}), "testnet": frozenset({"ws-api.testnet.binance.vision"}),
                "demo": frozenset({"demo-ws-api.binance.com"})}
VENUE_NAMES = {"live": "production (real money)", "testnet": "Spot Testnet", "demo": "Demo Mode"}
_KNOWN = {host: venue for table in (REST_HOSTS, STREAM_HOSTS, WS_API_HOSTS)
          for venue, hosts in table.items() for host in hosts} | {"data-api.binance.vision": "live"}
_PLAIN_HOST = re.compile(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?", re.ASCII)


class HostRefused(ValueError):
    """A URL names a host its setting may not use: the text says why, without the variable's name."""


def url_host(url: str) -> str:
    """The host a client will connect to: lower case, no userinfo, port or trailing dot, IDNA applied."""
    parts = urlsplit(url)
    # urlsplit and the HTTP client disagree about a backslash or a %-escape in the authority: refuse both.
    if "\\" in parts.netloc or "%" in parts.netloc:
        raise HostRefused("the host part holds a backslash or a %-escape")
    try:
        host, _ = parts.hostname, parts.port  # .port raises on a port that is not a number in range
    except ValueError:
        raise HostRefused("the port is not a number from 0 to 65535") from None
    if not host:
        raise HostRefused("no host")
    if ":" in host:  # an IPv6 literal
        return str(_address(host) or host)
    try:  # the clients apply IDNA: 'ａｐｉ。binance。com' is api.binance.com
        host = host.encode("idna").decode("ascii").lower().rstrip(".")
    except UnicodeError:
        raise HostRefused("not a valid host name") from None
    if not _PLAIN_HOST.fullmatch(host):
        raise HostRefused("not a valid host name")
    return host


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def endpoint(url: str) -> str:
    """host[:port] as /status shows it: never the userinfo; the raw host if the URL is too odd to normalise."""
    try:
        host, port = url_host(url), urlsplit(url).port
    except HostRefused:
        host, port = urlsplit(url).hostname or "?", None
    shown = f"[{host}]" if ":" in host else host
    return f"{shown}:{port}" if port is not None else shown


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and localhost: this machine, where the tests' stand-ins listen."""
    address = _address(host)
    return host == "localhost" if address is None else address.is_loopback


def check_host(url: str, allowed: frozenset[str], purpose: str, keyed: bool) -> str:
    """The URL's host if it serves `purpose` (one of `allowed`, or loopback); HostRefused naming why not."""
    host = url_host(url)
    if is_loopback(host):
        return host
    venue = _KNOWN.get(host)
    if host not in allowed:
        hint = f"allowed: {', '.join(sorted(allowed))} or a loopback address"
        if venue is not None:
            raise HostRefused(f"{host} is Binance {VENUE_NAMES[venue]}, not {purpose}; {hint}")
        sent = "; the API key would be sent there" if keyed else ""
        raise HostRefused(f"{host} is not a Binance host for {purpose}{sent}; {hint}")
    if urlsplit(url).scheme not in ("https", "wss"):  # plain http outside this machine: readable, forgeable
        raise HostRefused(f"{host} needs https:// or wss:// (only a loopback address may use plain http or ws)")
    return host

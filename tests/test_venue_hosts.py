"""The venue follows the host: a Binance URL naming another venue's host (or an unknown one) is refused at start.

No network: the check happens while the settings load, before any client exists.
"""
from __future__ import annotations

import pytest

from tests.builders import NO_ENV_FILE
from tests.test_bad_settings import KEY, bot_processes, clean_env  # noqa: F401  (clean_env is a fixture)
from tradingbot.adapters.binance_hosts import MARKET_DATA_REST, REST_HOSTS, STREAM_HOSTS, endpoint
from tradingbot.core.domain import VenueHealth
from handlers.texts import health_line
from tradingbot.settings import SettingsError, load_settings

KEYS = {"binance_api_key": KEY, "binance_api_secret": KEY}
# The spellings a client treats as the same host: case, port, trailing dot, userinfo, IDNA full-width forms.
SPELLINGS = ["https://{h}/api", "https://{H}/api", "https://{h}:443/api", "https://{h}./api",
             "https://user:pass@{h}/api", "https://testnet.binance.vision@{h}/api",
             "https://demo-api.binance.com@{h}/api", "https://{wide}/api", "https://{ideo}/api"]
LOOPBACK = ["http://127.0.0.1:9/api", "http://127.8.9.10/api", "http://[::1]:9/api", "http://localhost:9/api",
            "http://LOCALHOST./api", "https://user:pw@127.0.0.1/api"]
UNKNOWN = ["https://binance.com.evil.example/api", "https://testnet.binance.vision.evil.example/api",
           "https://10.0.0.5/api", "https://api.binance.co/api", "https://0x7f.1/api", "https://[::ffff:8.8.8.8]/api"]


def spelled(template: str, host: str) -> str:
    wide = "".join(chr(ord(c) + 0xFEE0) if c.isalnum() else c for c in host)  # ａｐｉ.binance.com
    return template.format(h=host, H=host.upper(), wide=wide, ideo=host.replace(".", "\u3002"))


def refusal(**settings: str) -> str:
    with pytest.raises(SettingsError) as caught:
        load_settings(env_file=None, **settings)
    message = str(caught.value)
    assert "\n" not in message and "pass" not in message
    return message


OTHER_VENUES = [(exchange, host) for exchange in REST_HOSTS for venue, hosts in REST_HOSTS.items()
                if venue != exchange for host in sorted(hosts)]


@pytest.mark.parametrize("exchange,host", OTHER_VENUES)
def test_a_trading_url_on_another_venues_host_is_refused_however_it_is_spelled(clean_env, exchange, host) -> None:
    extra = {"allow_real_money_trading": "true"} if exchange == "live" else {}
    for template in SPELLINGS:
        message = refusal(exchange=exchange, binance_api_url=spelled(template, host), **KEYS, **extra)
        assert message.startswith(f"BINANCE_API_URL: {host} is Binance "), (template, message)
        assert f"not EXCHANGE={exchange}" in message


@pytest.mark.parametrize("exchange", sorted(REST_HOSTS))
def test_a_trading_url_on_an_unknown_host_is_refused_since_the_key_would_go_there(clean_env, exchange) -> None:
    extra = {"allow_real_money_trading": "true"} if exchange == "live" else {}
    for url in UNKNOWN + ["https://api.binance.com\\@testnet.binance.vision/api", "https://api%2Ebinance.com/api",
                          "http://" + sorted(REST_HOSTS[exchange])[0] + "/api", "https://:443/api"]:
        message = refusal(exchange=exchange, binance_api_url=url, **KEYS, **extra)
        assert message.startswith("BINANCE_API_URL: "), (url, message)


@pytest.mark.parametrize("exchange", sorted(REST_HOSTS))
def test_a_venues_own_hosts_and_loopback_are_accepted(clean_env, exchange) -> None:
    extra = {"allow_real_money_trading": "true"} if exchange == "live" else {}
    urls = [spelled(t, h) for h in sorted(REST_HOSTS[exchange]) for t in SPELLINGS[:5]] + LOOPBACK
    for url in urls:
        assert load_settings(env_file=None, exchange=exchange, binance_api_url=url, **KEYS, **extra).trading_url == url


def test_market_data_and_stream_urls_must_be_production_hosts(clean_env) -> None:
    for venue in ("testnet", "demo"):
        for host in sorted(STREAM_HOSTS[venue]):
            message = refusal(binance_stream_url=f"wss://{host.upper()}:9443/")
            assert message.startswith(f"BINANCE_STREAM_URL: {host} is Binance "), message
        for host in sorted(REST_HOSTS[venue]):
            message = refusal(binance_market_data_url=f"https://{host}/api")
            assert message.startswith(f"BINANCE_MARKET_DATA_URL: {host} is Binance "), message
    for url in UNKNOWN:
        assert refusal(binance_market_data_url=url).startswith("BINANCE_MARKET_DATA_URL: ")
        assert refusal(binance_stream_url=url.replace("https", "wss")).startswith("BINANCE_STREAM_URL: ")
    assert refusal(binance_stream_url="ws://stream.binance.com/").startswith("BINANCE_STREAM_URL: stream.binance.com "
                                                                             "needs https:// or wss://")
    for host in sorted(STREAM_HOSTS["live"]):
        assert load_settings(env_file=None, binance_stream_url=f"wss://{host}:9443/").binance_stream_url
    for host in sorted(MARKET_DATA_REST):
        assert load_settings(env_file=None, binance_market_data_url=f"https://{host}/api")
    # A paper venue or the synthetic market sends nothing to these URLs: nothing to check.
    assert load_settings(env_file=None, market_data="synthetic", binance_stream_url="wss://x.example/")


def test_status_names_the_host_really_used_never_its_userinfo() -> None:
    assert endpoint("https://testnet.binance.vision@API.binance.com.:443/api") == "api.binance.com:443"
    assert endpoint("http://user:secret@[::1]:8901/api") == "[::1]:8901"
    health = VenueHealth("testnet", 3000, endpoint("https://user:secret@testnet.binance.vision/api"), reachable=True)
    assert health_line(health).startswith("Binance testnet: reachable at testnet.binance.vision; weight 0/3000")


def test_bot_refuses_a_wrong_host_in_one_line_without_touching_the_network(tmp_path) -> None:
    no_env = ["--env-file", NO_ENV_FILE, "--db", str(tmp_path / "bot.sqlite")]
    keyed = {"BINANCE_API_KEY": KEY, "BINANCE_API_SECRET": KEY, "MARKET_DATA": "binance"}
    cases = {
        "BINANCE_API_URL (testnet)": ({**keyed, "EXCHANGE": "testnet",
                                       "BINANCE_API_URL": "https://API1.binance.com:443/api"}, no_env),
        "BINANCE_API_URL (demo, userinfo)": ({**keyed, "EXCHANGE": "demo",
                                              "BINANCE_API_URL": "https://demo-api.binance.com@api.binance.com/"},
                                             no_env),
        "BINANCE_STREAM_URL": ({**keyed, "EXCHANGE": "testnet", "BINANCE_API_URL": "http://127.0.0.1:9/api",
                                "BINANCE_STREAM_URL": "wss://stream.testnet.binance.vision/"}, no_env),
    }
    for label, result in bot_processes(cases).items():
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2 and len(lines) == 1, (label, result.stderr[-1500:])
        assert lines[0].startswith(f"configuration error: {label.split(' (')[0]}: "), (label, lines[0])
        assert "Traceback" not in result.stderr and result.stdout == "" and KEY not in result.stderr
    assert not (tmp_path / "bot.sqlite").exists()  # refused before anything was opened

"""The destination allowlist: what is refused, why, and that a delivery connects to the checked
address. Names are resolved by a fixed table here, since no public DNS answers in the test box."""

from __future__ import annotations

import pytest

from appliance.config import ConfigError
from appliance.services.webhooks.destinations import DestinationRefused, Policy
from appliance.services.webhooks.settings import Settings

NAMES = {
    "historian.plant": ["10.20.0.5"],
    "evil.example": ["93.184.216.34"],
    "split.example": ["192.168.1.9", "93.184.216.34"],
    "v6.plant": ["fd00::7"],
}


def resolve(host: str, _port: int) -> list[str]:
    if host not in NAMES:
        raise OSError("Name or service not known")
    return NAMES[host]


def policy(**section: object) -> Policy:
    return Policy.from_config(section, resolve)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://10.1.2.3/hook",
        "https://172.16.4.4/x",
        "http://192.168.10.5:9000/in?token=1",
        "http://[::1]:8080/",
        "http://historian.plant/events",
        "https://v6.plant/hook",
    ],
)
def test_loopback_and_private_addresses_are_allowed_by_default(url: str) -> None:
    policy().check(url)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://93.184.216.34/", "93.184.216.34 is outside the allowed networks"),
        ("http://evil.example/hook", "evil.example (93.184.216.34) is outside the allowed networks"),
        ("http://split.example/hook", "split.example (93.184.216.34) is outside"),
        ("http://[::ffff:8.8.8.8]/", "is outside the allowed networks"),
        ("http://169.254.169.254/", "is outside the allowed networks"),
        ("http://224.0.0.1/", "is outside the allowed networks"),
        ("http://unknown.plant/", "does not resolve here"),
        ("gopher://127.0.0.1/", "only http and https"),
        ("http://a:b@127.0.0.1/", "credentials"),
        ("http://127.0.0.1/#frag", "fragment"),
        ("http://" + "a" * 2050, "longer than 2048"),
    ],
)
def test_refusals_say_why(url: str, reason: str) -> None:
    with pytest.raises(DestinationRefused, match=reason.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        policy().check(url)


def test_allowed_hosts_vouch_for_a_name_whatever_it_resolves_to() -> None:
    assert policy(allowed_hosts=["evil.example"]).check("http://evil.example/hook").address == "93.184.216.34"
    with pytest.raises(DestinationRefused):
        policy(allowed_hosts=["evil.example"]).check("http://other.example/")


def test_networks_come_from_config_including_a_comma_separated_environment_value() -> None:
    narrow = policy(allowed_networks="10.20.0.0/16, 127.0.0.0/8")
    narrow.check("http://historian.plant/")
    with pytest.raises(DestinationRefused, match=r"10\.20\.0\.0/16, 127\.0\.0\.0/8"):
        narrow.check("http://192.168.1.1/")
    with pytest.raises(ConfigError, match="allowed_networks"):
        policy(allowed_networks=["not-a-network"])


def test_the_target_connects_to_the_checked_address_and_keeps_the_name_for_host_and_sni() -> None:
    target = policy().check("https://historian.plant:8443/in?x=1")
    assert target.connect_url == "https://10.20.0.5:8443/in?x=1"
    assert target.host_header == "historian.plant:8443" and target.host == "historian.plant"
    v6 = policy().check("http://v6.plant/")
    assert v6.connect_url == "http://[fd00::7]:80/" and v6.host_header == "v6.plant"


def test_settings_reject_nonsense() -> None:
    with pytest.raises(ConfigError, match="timeout_s"):
        Settings.from_config({"webhooks": {"timeout_s": 0}})
    assert Settings.from_config({"webhooks": {"max_age_h": 1}}).max_age_s == 3600
    with pytest.raises(ConfigError, match=r"ca_file: /nonexistent/ca\.pem is not a file"):
        Settings.from_config({"webhooks": {"ca_file": "/nonexistent/ca.pem"}})

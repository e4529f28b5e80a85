"""The `[webhooks]` section of the config, read once into one typed value."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from appliance.config import ConfigError
from appliance.services.webhooks.destinations import Policy, Resolver, system_resolver


@dataclass(frozen=True)
class Settings:
    policy: Policy
    timeout_s: float = 10.0
    max_age_s: float = 24 * 3600.0
    retry_base_s: float = 5.0
    retry_max_interval_s: float = 3600.0
    rotation_grace_s: float = 24 * 3600.0
    response_cap_bytes: int = 4096
    failing_after: int = 5
    endpoint_concurrency: int = 4
    poll_s: float = 0.05
    max_endpoints: int = 20
    keep_days: float = 14.0
    nice: int = 5
    ca_file: str = ""

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any], resolve: Resolver = system_resolver) -> Settings:
        section: Mapping[str, Any] = cfg.get("webhooks", {})

        def number(key: str, default: float, low: float) -> float:
            value = float(section.get(key, default))
            if value < low:
                raise ConfigError(f"[webhooks] {key} must be at least {low}, got {value}")
            return value

        return cls(
            policy=Policy.from_config(section, resolve),
            timeout_s=number("timeout_s", 10.0, 0.1),
            max_age_s=number("max_age_h", 24.0, 0.0) * 3600,
            retry_base_s=number("retry_base_s", 5.0, 0.0),
            retry_max_interval_s=number("retry_max_interval_s", 3600.0, 0.0),
            rotation_grace_s=number("rotation_grace_h", 24.0, 0.0) * 3600,
            response_cap_bytes=int(number("response_cap_bytes", 4096, 0)),
            failing_after=int(number("failing_after", 5, 1)),
            endpoint_concurrency=int(number("endpoint_concurrency", 4, 1)),
            poll_s=number("poll_s", 0.05, 0.005),
            max_endpoints=int(number("max_endpoints", 20, 1)),
            keep_days=number("keep_days", 14.0, 0.0),
            nice=int(number("nice", 5, 0)),
            ca_file=_ca_file(section.get("ca_file", "")),
        )


def _ca_file(value: object) -> str:
    path = str(value or "")
    if path and not Path(path).is_file():
        raise ConfigError(f"[webhooks] ca_file: {path} is not a file")
    return path

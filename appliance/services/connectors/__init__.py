"""Connectors (issue #21): the registry of types behind one interface (`base.Connector`).

Every type the published API names is listed, so the catalogue (`GET /v1/connectors/types`)
tells a client what exists and what this appliance can use today; a listed type without a module
yet answers "not available" on create instead of an unknown-type error.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from appliance.services.connectors import (
    folder,
    ftp,
    http,
    influxdb,
    modbus,
    mqtt,
    mysql,
    opcua,
    postgresql,
    s3,
    sftp,
    smb,
    sparkplug,
    sqlite_file,
)
from appliance.services.connectors.base import ConnectorType, Environment
from appliance.services.webhooks.destinations import Policy

_BUILT = (
    folder.TYPE,
    sqlite_file.TYPE,
    postgresql.TYPE,
    mysql.TYPE,
    s3.TYPE,
    sftp.TYPE,
    ftp.TYPE,
    smb.TYPE,
    influxdb.TYPE,
    modbus.TYPE,
    opcua.TYPE,
    mqtt.TYPE,
    sparkplug.TYPE,
    http.TYPE,
)
_PLANNED: tuple[ConnectorType, ...] = ()
TYPES: dict[str, ConnectorType] = {t.name: t for t in (*_BUILT, *_PLANNED)}

DEFAULT_FOLDER_ROOTS = ("/media", "/mnt")


def environment(cfg: Mapping[str, Any]) -> Environment:
    """What connectors may reach, from the config: the webhooks' network allowlist, the
    `[connectors]` folder roots and timeout."""
    section: Mapping[str, Any] = cfg.get("connectors", {})
    raw = section.get("folder_roots", DEFAULT_FOLDER_ROOTS)
    names = raw.split(",") if isinstance(raw, str) else raw  # an environment variable gives a string
    roots = tuple(Path(str(p).strip()).resolve() for p in names if str(p).strip())
    return Environment(
        policy=Policy.from_config(cfg.get("webhooks", {})),
        folder_roots=roots,
        timeout_s=float(section.get("timeout_s", 10.0)),
    )

"""InfluxDB 1.x through its HTTP API (InfluxQL), with httpx: the client the webhooks already use.

Reads are ``GET /query`` with ``chunked=true``: the server streams result chunks as JSON lines,
each turned into CSV rows at once, so a long time range is read in bounded memory. A GET may
run one SELECT or SHOW without INTO (checked here: InfluxDB 1.x runs any statement sent on a
GET), so a query source cannot change the database. Writes send the artifact as line protocol
to ``/write`` in batches of a few thousand points. Requests go to the address the network policy
checked, the name kept in `Host` and, for HTTPS, in SNI and the certificate check. Credentials
travel as HTTP Basic (never in the URL, where proxies and logs would see them). InfluxDB 2.x
(Flux) is not covered: no 2.x server installs from the registries this appliance is tested
with (docs/connectors.md).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import marshmallow as ma

from appliance.services.connectors.base import (
    ConnectorError,
    ConnectorType,
    Entry,
    Environment,
    Listing,
    ReadStream,
    classify,
)
from appliance.services.connectors.tabular import artifact_batches, csv_chunks
from appliance.services.webhooks.destinations import DestinationRefused, Target

_STATUS = {401: "auth", 403: "permission", 404: "not_found"}
_POINTS_PER_WRITE = 5000
_NAME = ma.validate.Length(min=1, max=256)


class Settings(ma.Schema):
    url = ma.fields.String(
        required=True, validate=ma.validate.Length(min=1, max=2048), metadata={"description": "http(s)://host:8086"}
    )
    database = ma.fields.String(required=True, validate=_NAME)
    verify_tls = ma.fields.Boolean(load_default=True)


class Credentials(ma.Schema):
    username = ma.fields.String(validate=_NAME)
    password = ma.fields.String(validate=ma.validate.Length(max=1000))


class Source(ma.Schema):
    measurement = ma.fields.String(validate=_NAME)
    start = ma.fields.DateTime(metadata={"description": "from this time (inclusive)"})
    end = ma.fields.DateTime(metadata={"description": "before this time"})
    query = ma.fields.String(validate=ma.validate.Length(min=1, max=20_000))

    @ma.validates_schema
    def one_of(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if ("measurement" in data) == ("query" in data):
            raise ma.ValidationError("give exactly one of measurement or query", "measurement")


class WriteTarget(ma.Schema):
    measurement = ma.fields.String(required=True, validate=_NAME)
    time_column = ma.fields.String(load_default="time", validate=_NAME)
    tags = ma.fields.List(ma.fields.String(validate=_NAME), load_default=list, validate=ma.validate.Length(max=64))


def _ident(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _escape_key(text: str) -> str:
    return text.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def _field(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value}i"
    if isinstance(value, float):
        return repr(value) if value == value else None  # NaN cannot be written
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _cell(value: Any) -> Any:
    """InfluxDB's booleans as the line protocol writes them (``true``), not Python's ``True``."""
    return ("true" if value else "false") if isinstance(value, bool) else value


def _diagnose(exc: BaseException, url: str) -> ConnectorError:
    import httpx

    found = classify(exc) or (classify(exc.__context__) if exc.__context__ else None)
    if isinstance(exc, httpx.TimeoutException):
        found = "timeout"
    elif isinstance(exc, httpx.ConnectError) and not found:
        text = str(exc).lower()
        found = "tls" if "ssl" in text or "certificate" in text else "refused" if "refused" in text else "unreachable"
    return ConnectorError(found or "protocol", f"{url}: {exc or type(exc).__name__}")


def _read_only(query: str) -> str:
    """``query`` when it is one SELECT or SHOW that writes nothing. InfluxDB 1.x runs any statement
    on a GET (DROP included, for an admin) and ``SELECT … INTO`` writes, so the check is here."""
    statement = query.strip().rstrip(";").strip()
    words = re.findall(r"[A-Za-z_]+", re.sub(r"'[^']*'|\"[^\"]*\"", "", statement))
    if not words or words[0].upper() not in ("SELECT", "SHOW") or ";" in statement:
        raise ConnectorError("invalid", "a query source must be one SELECT or SHOW statement")
    if any(w.upper() == "INTO" for w in words):
        raise ConnectorError("invalid", "a query source may not write (SELECT … INTO)")
    return statement


def _result_error(message: str) -> ConnectorError:
    lowered = message.lower()
    if "database not found" in lowered:
        return ConnectorError("not_found", message)
    if "not authorized" in lowered:
        return ConnectorError("permission", message)
    if "requires post" in lowered or "error parsing" in lowered:
        return ConnectorError("invalid", message)
    return ConnectorError("protocol", message)


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


class InfluxConnector:
    def __init__(self, settings: Mapping[str, Any], credentials: Mapping[str, Any], env: Environment) -> None:
        self.settings, self.credentials, self.env = settings, credentials, env

    def _target(self) -> Target:
        url = self.settings["url"]
        if urlsplit(url).scheme not in ("http", "https"):
            raise ConnectorError("invalid", "url must be http:// or https://")
        try:
            return self.env.policy.check(url)
        except DestinationRefused as exc:
            raise ConnectorError("dns" if "does not resolve" in str(exc) else "not_allowed", str(exc)) from exc

    def _send(self, method: str, path: str, params: dict[str, str], content: bytes | None = None) -> tuple[Any, Any]:
        """A streamed response with status < 300, and its client (both to close)."""
        import httpx

        target = self._target()
        auth = (
            (self.credentials["username"], self.credentials.get("password", ""))
            if self.credentials.get("username")
            else None
        )
        client = httpx.Client(
            timeout=self.env.timeout_s,
            follow_redirects=False,
            trust_env=False,
            verify=bool(self.settings.get("verify_tls", True)),
            auth=auth,
        )
        url = target.connect_url.rstrip("/") + path
        headers = {"Host": target.host_header, "User-Agent": "sealforge-connector"}
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        try:
            request = client.build_request(
                method, url, params=params, content=content, headers=headers, extensions=extensions
            )
            response = client.send(request, stream=True)
        except httpx.HTTPError as exc:
            client.close()
            raise _diagnose(exc, target.url) from exc
        if response.status_code >= 300:
            try:
                detail = json.loads(response.read() or b"{}").get("error", "")
            except (ValueError, AttributeError):
                detail = ""
            response.close()
            client.close()
            diagnosis = _STATUS.get(response.status_code)
            error = _result_error(detail) if detail and not diagnosis else None
            raise error or ConnectorError(
                diagnosis or "protocol", f"{target.url}: HTTP {response.status_code} {detail}".strip()
            )
        return client, response

    def _query(self, statement: str, database: str | None = None) -> list[dict[str, Any]]:
        """The series of a small statement (SHOW ...), read whole."""
        params = {"q": statement, **({"db": database} if database else {})}
        client, response = self._send("GET", "/query", params)
        try:
            body = json.loads(response.read())
        finally:
            response.close()
            client.close()
        for result in body.get("results", []):
            if "error" in result:
                raise _result_error(result["error"])
        return [s for result in body.get("results", []) for s in result.get("series", [])]

    def test(self) -> dict[str, Any]:
        client, response = self._send("GET", "/ping", {})
        version = response.headers.get("x-influxdb-version")
        response.close()
        client.close()
        measurements = self._query("SHOW MEASUREMENTS LIMIT 1000", self.settings["database"])
        count = sum(len(s.get("values") or []) for s in measurements)
        return {"server_version": version, "database": self.settings["database"], "measurements": count}

    def browse(self, path: str, cursor: str | None, limit: int) -> Listing:
        """Databases at the top; a database's measurements; a measurement's fields and tags."""
        parts = [p for p in path.split("/") if p] if path else []
        if not parts:
            names = [v[0] for s in self._query("SHOW DATABASES") for v in s.get("values") or []]
            entries = [Entry(n, n, "database", children=True) for n in sorted(names) if not n.startswith("_")]
        elif len(parts) == 1:
            series = self._query("SHOW MEASUREMENTS", parts[0])
            names = sorted(v[0] for s in series for v in s.get("values") or [])
            entries = [Entry(n, f"{parts[0]}/{n}", "measurement", children=True) for n in names]
        else:
            measurement = _ident(parts[1])
            fields = self._query(f"SHOW FIELD KEYS FROM {measurement}", parts[0])
            tags = self._query(f"SHOW TAG KEYS FROM {measurement}", parts[0])
            entries = [
                Entry(v[0], f"{path}/{v[0]}", "field", detail={"type": v[1]})
                for s in fields
                for v in s.get("values") or []
            ] + [Entry(v[0], f"{path}/{v[0]}", "tag") for s in tags for v in s.get("values") or []]
            entries.sort(key=lambda e: e.name)
        entries = [e for e in entries if not cursor or e.name > cursor]
        more = len(entries) > limit
        return Listing(entries[:limit], entries[limit - 1].name if more else None)

    def read(self, source: Mapping[str, Any]) -> ReadStream:
        if "query" in source:
            statement = _read_only(source["query"])
        else:
            conditions = []
            if source.get("start"):
                conditions.append(f"time >= '{source['start'].isoformat()}'")
            if source.get("end"):
                conditions.append(f"time < '{source['end'].isoformat()}'")
            where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
            statement = f"SELECT * FROM {_ident(source['measurement'])}{where}"
        params = {"q": statement, "db": self.settings["database"], "chunked": "true", "chunk_size": "10000"}
        client, response = self._send("GET", "/query", params)
        closed = False

        def stop() -> None:
            nonlocal closed
            closed = True
            response.close()
            client.close()

        def rows() -> Iterator[list[Any]]:
            header: list[str] | None = None
            for line in response.iter_lines():
                if closed:
                    return
                if not line.strip():
                    continue
                for result in json.loads(line).get("results", []):
                    if "error" in result:
                        raise _result_error(result["error"])
                    for series in result.get("series", []):
                        tags = series.get("tags") or {}
                        columns = ["measurement", *series["columns"], *sorted(tags)]
                        if header is None:
                            header = columns
                            yield header
                        elif columns != header:
                            raise ConnectorError(
                                "invalid", "the series of this query differ in columns; select one shape"
                            )
                        tail = [tags[k] for k in sorted(tags)]
                        for values in series.get("values") or []:
                            yield [series.get("name", ""), *(_cell(v) for v in values), *tail]

        def chunks() -> Iterator[bytes]:
            if closed:
                return
            try:
                produced = rows()
                header = next(produced, None)
                yield from csv_chunks(header or ["measurement", "time"], produced)
            except ConnectorError:
                raise
            except Exception as exc:
                raise _diagnose(exc, self.settings["url"]) from exc
            finally:
                stop()

        description = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in source.items()}
        return ReadStream("csv", chunks(), None, {**description, "query": statement}, stop)

    def write(self, target: Mapping[str, Any], name: str, fmt: str, path: Path) -> dict[str, Any]:
        import pyarrow as pa
        import pyarrow.compute as pc

        time_column, tags = target.get("time_column", "time"), list(target.get("tags") or [])
        prefix = _escape_key(target["measurement"])
        points = 0
        for batch in artifact_batches(path, fmt):
            names = batch.schema.names
            missing = [c for c in (time_column, *tags) if c not in names]
            if missing:
                raise ConnectorError("invalid", f"{name} has no column {missing[0]!r}")
            times = batch.column(names.index(time_column))
            if not pa.types.is_timestamp(times.type):
                try:
                    times = pc.cast(times, pa.timestamp("ns", tz="UTC"))
                except pa.ArrowInvalid:
                    times = pc.strptime(times, format="%Y-%m-%dT%H:%M:%S", unit="ns")
            stamps = pc.cast(times, pa.timestamp("ns")).cast(pa.int64()).to_pylist()
            columns = {n: batch.column(i).to_pylist() for i, n in enumerate(names) if n != time_column}
            lines = []
            for row in range(batch.num_rows):
                tag_part = "".join(
                    f",{_escape_key(t)}={_escape_key(str(columns[t][row]))}"
                    for t in tags
                    if columns[t][row] not in (None, "")
                )
                fields = [
                    f"{_escape_key(n)}={text}"
                    for n, values in columns.items()
                    if n not in tags and (text := _field(values[row])) is not None
                ]
                if fields and stamps[row] is not None:
                    lines.append(f"{prefix}{tag_part} {','.join(fields)} {stamps[row]}")
                if len(lines) >= _POINTS_PER_WRITE:
                    points += self._write_lines(lines)
                    lines = []
            points += self._write_lines(lines)
        if points == 0:
            raise ConnectorError("invalid", f"{name} holds no points to write")
        return {"database": self.settings["database"], "measurement": target["measurement"], "points": points}

    def _write_lines(self, lines: list[str]) -> int:
        if not lines:
            return 0
        params = {"db": self.settings["database"], "precision": "ns"}
        client, response = self._send("POST", "/write", params, "\n".join(lines).encode())
        response.close()
        client.close()
        return len(lines)


TYPE = ConnectorType(
    name="influxdb",
    summary="InfluxDB 1.x (InfluxQL over HTTP): read measurements or queries, write points",
    settings=Settings,
    credentials=Credentials,
    source=Source,
    target=WriteTarget,
    open=lambda settings, credentials, env: InfluxConnector(settings, credentials, env),
    hosts=lambda settings: [_host_port(settings["url"])],
)

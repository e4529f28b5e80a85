"""PostgreSQL through psycopg 3: COPY both ways, so a table streams in bounded memory.

A read is ``COPY (SELECT …) TO STDOUT (FORMAT csv, HEADER)`` inside a READ ONLY transaction: the
server streams, psycopg hands over one network buffer at a time, and a query source cannot write.
A write is ``COPY … FROM STDIN`` of the artifact as CSV in one transaction (a failure leaves the
table as it was). The client connects to the address the network policy checked (``hostaddr``),
with the name kept for TLS.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import marshmallow as ma

from appliance.services.connectors.base import (
    ConnectorError,
    ConnectorType,
    Entry,
    Environment,
    Listing,
    ReadStream,
    classify,
    file_chunks,
)
from appliance.services.connectors.tabular import CHUNK_BYTES, artifact_batches, sql_type

_SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast")
_MODES = ("append", "replace", "create")


class Settings(ma.Schema):
    host = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=253))
    port = ma.fields.Integer(load_default=5432, validate=ma.validate.Range(1, 65535))
    database = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=63))
    user = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=63))
    sslmode = ma.fields.String(
        load_default="prefer", validate=ma.validate.OneOf(("disable", "prefer", "require", "verify-ca", "verify-full"))
    )


class Credentials(ma.Schema):
    password = ma.fields.String(required=True, validate=ma.validate.Length(max=1000))


class Source(ma.Schema):
    schema = ma.fields.String(load_default="public", validate=ma.validate.Length(min=1, max=63))
    table = ma.fields.String(validate=ma.validate.Length(min=1, max=63))
    columns = ma.fields.List(
        ma.fields.String(validate=ma.validate.Length(min=1, max=63)), validate=ma.validate.Length(max=1600)
    )
    query = ma.fields.String(validate=ma.validate.Length(min=1, max=20_000))

    @ma.validates_schema
    def one_of(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if ("table" in data) == ("query" in data):
            raise ma.ValidationError("give exactly one of table or query", "table")


class Target(ma.Schema):
    schema = ma.fields.String(load_default="public", validate=ma.validate.Length(min=1, max=63))
    table = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=63))
    mode = ma.fields.String(load_default="append", validate=ma.validate.OneOf(_MODES))


def _diagnose(exc: BaseException) -> ConnectorError:
    import psycopg
    from psycopg import errors as pg_errors

    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    found = classify(exc)
    if found:
        return ConnectorError(found, text)
    if isinstance(exc, pg_errors.InsufficientPrivilege):
        return ConnectorError("permission", text)
    if isinstance(exc, pg_errors.UndefinedTable | pg_errors.InvalidSchemaName | pg_errors.UndefinedColumn):
        return ConnectorError("not_found", text)
    if isinstance(exc, pg_errors.InvalidPassword | pg_errors.InvalidAuthorizationSpecification):
        return ConnectorError("auth", text)
    lowered = text.lower()
    checks = (
        ("password authentication failed", "auth"),
        ("no password supplied", "auth"),
        ("role", "auth") if "does not exist" in lowered else ("\0", ""),
        ("database", "not_found") if "does not exist" in lowered else ("\0", ""),
        ("permission denied", "permission"),
        ("connection refused", "refused"),
        ("could not translate host name", "dns"),
        ("timeout expired", "timeout"),
        ("ssl", "tls"),
        ("no route to host", "unreachable"),
    )
    for needle, diagnosis in checks:
        if needle in lowered:
            return ConnectorError(diagnosis, text)
    if isinstance(exc, psycopg.DataError | psycopg.ProgrammingError):
        return ConnectorError("invalid", text)
    return ConnectorError("protocol", text)


def _column_types(batch: Any) -> list[tuple[str, str]]:
    """Column types for a table made to receive ``batch``: Arrow's inference, plus PostgreSQL's
    own text form of booleans (``t``/``f``, what COPY writes), so a table read from PostgreSQL
    and delivered back keeps its boolean columns."""
    import pyarrow as pa
    import pyarrow.compute as pc

    out = []
    for index, field in enumerate(batch.schema):
        kind = sql_type(field.type, "postgresql")
        if pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
            values = set(pc.unique(batch.column(index).drop_null()).to_pylist())
            if values and values <= {"t", "f"}:
                kind = "boolean"
        out.append((field.name, kind))
    return out


class PostgresConnector:
    def __init__(self, settings: Mapping[str, Any], credentials: Mapping[str, Any], env: Environment) -> None:
        self.settings, self.credentials, self.env = settings, credentials, env

    def _connect(self) -> Any:
        import psycopg

        s = self.settings
        address = self.env.address(s["host"], s["port"])
        try:
            return psycopg.connect(
                host=s["host"],
                hostaddr=address,
                port=s["port"],
                dbname=s["database"],
                user=s["user"],
                password=self.credentials.get("password", ""),
                sslmode=s.get("sslmode", "prefer"),
                connect_timeout=max(1, int(self.env.timeout_s)),
                application_name="sealforge",
            )
        except Exception as exc:
            raise _diagnose(exc) from exc

    def test(self) -> dict[str, Any]:
        with self._connect() as conn:
            try:
                version, user, tables = conn.execute(
                    "SELECT current_setting('server_version'), current_user, count(*) FILTER"
                    " (WHERE has_table_privilege(c.oid, 'SELECT')) FROM pg_class c"
                    " JOIN pg_namespace n ON n.oid = c.relnamespace"
                    " WHERE c.relkind IN ('r', 'v', 'm', 'p') AND n.nspname <> ALL(%s)",
                    (list(_SYSTEM_SCHEMAS),),
                ).fetchone()
            except Exception as exc:
                raise _diagnose(exc) from exc
        return {"server_version": version, "user": user, "readable_tables": tables}

    def browse(self, path: str, cursor: str | None, limit: int) -> Listing:
        with self._connect() as conn:
            try:
                if not path:
                    rows = conn.execute(
                        "SELECT nspname, has_schema_privilege(oid, 'USAGE') FROM pg_namespace"
                        " WHERE nspname <> ALL(%s) AND nspname NOT LIKE 'pg_temp%%' AND nspname NOT LIKE"
                        " 'pg_toast_temp%%' AND nspname > %s ORDER BY nspname LIMIT %s",
                        (list(_SYSTEM_SCHEMAS), cursor or "", limit + 1),
                    ).fetchall()
                    entries = [Entry(r[0], r[0], "schema", children=True, detail={"usage": r[1]}) for r in rows]
                else:
                    rows = conn.execute(
                        "SELECT c.relname, c.relkind, greatest(c.reltuples, -1)::bigint,"
                        " pg_total_relation_size(c.oid), has_table_privilege(c.oid, 'SELECT'),"
                        " has_table_privilege(c.oid, 'INSERT') FROM pg_class c"
                        " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s"
                        " AND c.relkind IN ('r', 'v', 'm', 'p') AND c.relname > %s ORDER BY c.relname LIMIT %s",
                        (path, cursor or "", limit + 1),
                    ).fetchall()
                    kinds = {"r": "table", "p": "table", "v": "view", "m": "view"}
                    entries = [
                        Entry(
                            r[0],
                            f"{path}.{r[0]}",
                            kinds[r[1]],
                            size=r[3],
                            detail={"rows_estimate": r[2] if r[2] >= 0 else None, "select": r[4], "insert": r[5]},
                        )
                        for r in rows
                    ]
            except Exception as exc:
                raise _diagnose(exc) from exc
        more = len(entries) > limit
        return Listing(entries[:limit], entries[limit - 1].name if more else None)

    def read(self, source: Mapping[str, Any]) -> ReadStream:
        from psycopg import sql

        if "query" in source:
            select: Any = sql.SQL(source["query"].strip().rstrip(";"))
        else:
            columns = (
                sql.SQL(", ").join(sql.Identifier(c) for c in source["columns"])
                if source.get("columns")
                else sql.SQL("*")
            )
            select = sql.SQL("SELECT {} FROM {}").format(columns, sql.Identifier(source["schema"], source["table"]))
        conn = self._connect()
        conn.read_only = True
        size: int | None = None
        try:
            if "table" in source:
                size = conn.execute(
                    "SELECT pg_total_relation_size(to_regclass(%s))",
                    (sql.Identifier(source["schema"], source["table"]).as_string(conn),),
                ).fetchone()[0]
            cursor = conn.cursor()
            copy_cm = cursor.copy(sql.SQL("COPY ({}) TO STDOUT (FORMAT csv, HEADER)").format(select))
            copy = copy_cm.__enter__()
        except Exception as exc:
            conn.close()
            raise _diagnose(exc) from exc
        done = False

        def stop() -> None:
            if not done:
                with contextlib.suppress(Exception):  # the connection is closed next whatever the cancel did
                    conn.cancel_safe(timeout=2.0)
            conn.close()

        def chunks() -> Iterator[bytes]:
            nonlocal done
            try:
                buffer = bytearray()  # libpq hands over one row at a time: pass on a megabyte at once
                for data in copy:
                    buffer += data
                    if len(buffer) >= CHUNK_BYTES:
                        yield bytes(buffer)
                        buffer.clear()
                if buffer:
                    yield bytes(buffer)
                done = True
                copy_cm.__exit__(None, None, None)
                conn.commit()
            except Exception as exc:
                raise _diagnose(exc) from exc
            finally:
                stop()

        description = {k: v for k, v in source.items()}
        return ReadStream("csv", chunks(), size, description, stop)

    def write(self, target: Mapping[str, Any], name: str, fmt: str, path: Path) -> dict[str, Any]:
        from psycopg import sql

        table = sql.Identifier(target["schema"], target["table"])
        mode = target.get("mode", "append")
        first = next(artifact_batches(path, fmt), None)
        if first is None:
            raise ConnectorError("invalid", f"{name} holds no rows")
        columns = sql.SQL(", ").join(sql.Identifier(n) for n in first.schema.names)
        with self._connect() as conn:
            try:
                with conn.transaction():
                    exists = conn.execute("SELECT to_regclass(%s)", (table.as_string(conn),)).fetchone()[0]
                    if mode == "create" and exists:
                        raise ConnectorError("invalid", f"{target['schema']}.{target['table']} exists (mode create)")
                    if mode == "append" and not exists:
                        raise ConnectorError(
                            "not_found", f"no table {target['schema']}.{target['table']}; use mode create or replace"
                        )
                    if mode in ("create", "replace"):
                        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table))
                        defs = sql.SQL(", ").join(
                            sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(kind))
                            for name, kind in _column_types(first)
                        )
                        conn.execute(sql.SQL("CREATE TABLE {} ({})").format(table, defs))
                    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv, HEADER)").format(table, columns)
                    with conn.cursor().copy(statement) as copy:
                        for chunk in self._csv(path, fmt):
                            copy.write(chunk)
                    rows = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(table)).fetchone()[0]
            except ConnectorError:
                raise
            except Exception as exc:
                raise _diagnose(exc) from exc
        return {"schema": target["schema"], "table": target["table"], "rows_in_table": rows}

    @staticmethod
    def _csv(path: Path, fmt: str) -> Iterator[bytes]:
        """The artifact as CSV with a header: its own bytes when it is CSV already, else converted."""
        if fmt == "csv":
            yield from file_chunks(path)
            return
        import io

        import pyarrow.csv as pa_csv

        header = True
        for batch in artifact_batches(path, fmt):
            out = io.BytesIO()
            pa_csv.write_csv(batch, out, pa_csv.WriteOptions(include_header=header))
            header = False
            yield out.getvalue()


TYPE = ConnectorType(
    name="postgresql",
    summary="PostgreSQL: read tables or queries with COPY, write artifacts into tables",
    settings=Settings,
    credentials=Credentials,
    source=Source,
    target=Target,
    open=lambda settings, credentials, env: PostgresConnector(settings, credentials, env),
    hosts=lambda settings: [(settings["host"], settings["port"])],
)

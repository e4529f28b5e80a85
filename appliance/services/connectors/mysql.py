"""MySQL and MariaDB through PyMySQL (pure Python, so nothing native to build on the appliance).

A read runs on an unbuffered server-side cursor (``SSCursor``): the server streams rows and the
client holds one fetch batch at a time, so a table of any size is read in bounded memory. A query
source runs inside a READ ONLY transaction, so it cannot write. Closing a read early (a canceled
import) kills the running statement from a second connection (``KILL QUERY``, which any account
may do to its own sessions), so the server stops working for a reader that went away.

A write inserts the artifact batch by batch in one transaction (PyMySQL folds ``executemany``
into multi-row INSERTs); a failure rolls the rows back. Creating or replacing a table is DDL,
which MySQL commits at once, so a failed ``create`` may leave an empty table behind.
"""

from __future__ import annotations

import contextlib
import ssl
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
)
from appliance.services.connectors.tabular import artifact_batches, csv_chunks

_SYSTEM_SCHEMAS = ("mysql", "information_schema", "performance_schema", "sys")
_MODES = ("append", "replace", "create")
_FETCH_ROWS = 5000
_NAME = ma.validate.Length(min=1, max=64)

# Server error numbers (mysqld_error.h, errmsg.h) and what they mean to a plant engineer.
_CODES = {
    1044: "permission",  # access denied to a database
    1045: "auth",  # access denied for user (wrong name or password)
    1049: "not_found",  # unknown database
    1142: "permission",  # command denied on a table
    1143: "permission",  # command denied on a column
    1146: "not_found",  # table does not exist
    1054: "not_found",  # unknown column
    1227: "permission",  # needs a privilege the account lacks
    1698: "auth",  # access denied (socket-only account)
    1792: "invalid",  # statement not allowed in a READ ONLY transaction
    1050: "invalid",  # table exists
    2013: "timeout",  # lost connection during query
    2026: "tls",  # SSL connection error
}


class Settings(ma.Schema):
    host = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=253))
    port = ma.fields.Integer(load_default=3306, validate=ma.validate.Range(1, 65535))
    database = ma.fields.String(required=True, validate=_NAME)
    user = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=80))
    tls = ma.fields.String(
        load_default="prefer", validate=ma.validate.OneOf(("disable", "prefer", "require", "verify-ca"))
    )


class Credentials(ma.Schema):
    password = ma.fields.String(required=True, validate=ma.validate.Length(max=1000))


class Source(ma.Schema):
    database = ma.fields.String(validate=_NAME)
    table = ma.fields.String(validate=_NAME)
    columns = ma.fields.List(ma.fields.String(validate=_NAME), validate=ma.validate.Length(max=4096))
    query = ma.fields.String(validate=ma.validate.Length(min=1, max=20_000))

    @ma.validates_schema
    def one_of(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if ("table" in data) == ("query" in data):
            raise ma.ValidationError("give exactly one of table or query", "table")


class Target(ma.Schema):
    database = ma.fields.String(validate=_NAME)
    table = ma.fields.String(required=True, validate=_NAME)
    mode = ma.fields.String(load_default="append", validate=ma.validate.OneOf(_MODES))


def _quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _diagnose(exc: BaseException) -> ConnectorError:
    import pymysql

    original = getattr(exc, "original_exception", None)  # PyMySQL's wrapper of a socket failure
    found = classify(original) if isinstance(original, BaseException) else classify(exc)
    args: tuple[Any, ...] = tuple(getattr(exc, "args", ()))
    code = args[0] if args and isinstance(args[0], int) else None
    text = str(args[1]) if len(args) > 1 else (str(exc) or type(exc).__name__)
    text = text.splitlines()[0] if text else type(exc).__name__
    if found:
        return ConnectorError(found, text)
    if code in _CODES:
        return ConnectorError(_CODES[code], text)
    if code == 2003 and "timed out" in text:
        return ConnectorError("timeout", text)
    if isinstance(exc, pymysql.err.ProgrammingError | pymysql.err.DataError | pymysql.err.IntegrityError):
        return ConnectorError("invalid", text)
    return ConnectorError("protocol", text)


def _column_type(arrow_type: Any) -> str:
    import pyarrow as pa

    if pa.types.is_boolean(arrow_type):
        return "BOOLEAN"
    if pa.types.is_integer(arrow_type):
        return "BIGINT"
    if pa.types.is_floating(arrow_type):
        return "DOUBLE"
    if pa.types.is_timestamp(arrow_type):
        return "DATETIME(6)"
    if pa.types.is_date(arrow_type):
        return "DATE"
    return "LONGTEXT"


def _cell(value: Any) -> Any:
    """Bytes columns (BLOB, BINARY) as text when they are UTF-8, else as hex; the rest as is."""
    if isinstance(value, bytes | bytearray):
        try:
            return bytes(value).decode()
        except UnicodeDecodeError:
            return bytes(value).hex()
    return value


class MysqlConnector:
    def __init__(self, settings: Mapping[str, Any], credentials: Mapping[str, Any], env: Environment) -> None:
        self.settings, self.credentials, self.env = settings, credentials, env

    def _tls(self) -> ssl.SSLContext | None:
        mode = self.settings.get("tls", "prefer")
        if mode == "disable":
            return None
        context = ssl.create_default_context()
        context.check_hostname = False  # the client connects to the checked address, not the name
        if mode in ("prefer", "require"):
            context.verify_mode = ssl.CERT_NONE
        return context

    def _connect(self, **extra: Any) -> Any:
        import pymysql

        s = self.settings
        address = self.env.address(s["host"], s["port"])
        context = self._tls()
        attempts = [context, None] if s.get("tls", "prefer") == "prefer" else [context]
        for index, tls in enumerate(attempts):
            try:
                return pymysql.connect(
                    host=address,
                    port=s["port"],
                    user=s["user"],
                    password=self.credentials.get("password", ""),
                    database=s["database"],
                    connect_timeout=max(1, int(self.env.timeout_s)),
                    ssl=tls,
                    charset="utf8mb4",
                    autocommit=False,
                    local_infile=False,
                    program_name="sealforge",
                    **extra,
                )
            except Exception as exc:
                error = _diagnose(exc)
                if error.diagnosis == "tls" and index + 1 < len(attempts):
                    continue  # prefer: a server without TLS is answered in clear, as libpq's prefer does
                raise error from exc
        raise AssertionError("unreachable")

    def test(self) -> dict[str, Any]:
        conn = self._connect()
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT VERSION(), CURRENT_USER(), (SELECT COUNT(*) FROM information_schema.tables"
                    " WHERE table_schema NOT IN %s)",
                    (_SYSTEM_SCHEMAS,),
                )
                version, user, tables = cur.fetchone()
        except Exception as exc:
            raise _diagnose(exc) from exc
        finally:
            conn.close()
        return {"server_version": version, "user": user, "visible_tables": int(tables)}

    def browse(self, path: str, cursor: str | None, limit: int) -> Listing:
        """Databases at the top, then a database's tables and views; the server lists only what
        the account holds some privilege on."""
        conn = self._connect()
        try:
            with conn.cursor() as cur:
                if not path:
                    cur.execute(
                        "SELECT schema_name FROM information_schema.schemata WHERE schema_name NOT IN %s"
                        " AND schema_name > %s ORDER BY schema_name LIMIT %s",
                        (_SYSTEM_SCHEMAS, cursor or "", limit + 1),
                    )
                    entries = [Entry(r[0], r[0], "database", children=True) for r in cur.fetchall()]
                else:
                    cur.execute(
                        "SELECT table_name, table_type, table_rows, data_length + index_length, engine"
                        " FROM information_schema.tables WHERE table_schema = %s AND table_name > %s"
                        " ORDER BY table_name LIMIT %s",
                        (path, cursor or "", limit + 1),
                    )
                    entries = [
                        Entry(
                            r[0],
                            f"{path}.{r[0]}",
                            "view" if r[1] == "VIEW" else "table",
                            size=int(r[3]) if r[3] is not None else None,
                            detail={"rows_estimate": r[2], "engine": r[4]},
                        )
                        for r in cur.fetchall()
                    ]
        except Exception as exc:
            raise _diagnose(exc) from exc
        finally:
            conn.close()
        more = len(entries) > limit
        return Listing(entries[:limit], entries[limit - 1].name if more else None)

    def read(self, source: Mapping[str, Any]) -> ReadStream:
        import pymysql.cursors

        database = source.get("database") or self.settings["database"]
        if "query" in source:
            statement = source["query"].strip().rstrip(";")
        else:
            columns = ", ".join(_quote(c) for c in source.get("columns") or ()) or "*"
            statement = f"SELECT {columns} FROM {_quote(database)}.{_quote(source['table'])}"
        conn = self._connect(cursorclass=pymysql.cursors.SSCursor)
        size: int | None = None
        try:
            with conn.cursor(pymysql.cursors.Cursor) as info:
                if "table" in source:
                    info.execute(
                        "SELECT data_length FROM information_schema.tables WHERE table_schema = %s AND table_name = %s",
                        (database, source["table"]),
                    )
                    found = info.fetchone()
                    size = int(found[0]) if found and found[0] is not None else None
                info.execute("START TRANSACTION READ ONLY")
            cur = conn.cursor()
            cur.execute(statement)
        except Exception as exc:
            conn.close()
            raise _diagnose(exc) from exc
        header = [d[0] for d in cur.description or ()]
        thread_id = conn.thread_id()
        done = False

        def stop() -> None:
            """Kill the statement the server still runs, then drop the connection."""
            if not done:
                with contextlib.suppress(Exception):  # the connection is dropped next whatever the kill did
                    killer = self._connect()
                    try:
                        with killer.cursor() as kc:
                            kc.execute(f"KILL QUERY {int(thread_id)}")
                    finally:
                        killer.close()
            with contextlib.suppress(Exception):
                conn._force_close()  # the unread rest of the result cannot be quit politely
            result = getattr(cur, "_result", None)
            if result is not None:  # else the cursor would drain the dropped connection when collected
                result.unbuffered_active = False

        def rows() -> Iterator[tuple[Any, ...]]:
            while batch := cur.fetchmany(_FETCH_ROWS):
                for row in batch:
                    yield tuple(_cell(v) for v in row)

        def chunks() -> Iterator[bytes]:
            nonlocal done
            try:
                yield from csv_chunks(header, rows())
                done = True
                conn.commit()
            except Exception as exc:
                raise _diagnose(exc) from exc
            finally:
                stop()

        return ReadStream("csv", chunks(), size, {**source, "database": database}, stop)

    def write(self, target: Mapping[str, Any], name: str, fmt: str, path: Path) -> dict[str, Any]:
        database = target.get("database") or self.settings["database"]
        table = f"{_quote(database)}.{_quote(target['table'])}"
        mode, rows = target.get("mode", "append"), 0
        conn = self._connect()
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = %s AND table_name = %s",
                    (database, target["table"]),
                )
                exists = bool(cur.fetchone()[0])
                if mode == "create" and exists:
                    raise ConnectorError("invalid", f"{database}.{target['table']} exists (mode create)")
                if mode == "append" and not exists:
                    raise ConnectorError(
                        "not_found", f"no table {database}.{target['table']}; use mode create or replace"
                    )
                for batch in artifact_batches(path, fmt):
                    if mode in ("create", "replace") and rows == 0:
                        cur.execute(f"DROP TABLE IF EXISTS {table}")
                        defs = ", ".join(f"{_quote(f.name)} {_column_type(f.type)}" for f in batch.schema)
                        cur.execute(f"CREATE TABLE {table} ({defs})")
                    columns = ", ".join(_quote(n) for n in batch.schema.names)
                    marks = ", ".join("%s" for _ in batch.schema.names)
                    values = list(zip(*(column.to_pylist() for column in batch.columns), strict=True))
                    cur.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", values)
                    rows += batch.num_rows
                if rows == 0:
                    raise ConnectorError("invalid", f"{name} holds no rows")
                conn.commit()
                cur.execute(f"SELECT COUNT(*) FROM {table}")
                in_table = int(cur.fetchone()[0])
        except ConnectorError:
            with contextlib.suppress(Exception):
                conn.rollback()
            raise
        except Exception as exc:
            with contextlib.suppress(Exception):
                conn.rollback()
            raise _diagnose(exc) from exc
        finally:
            conn.close()
        return {"database": database, "table": target["table"], "rows": rows, "rows_in_table": in_table}


TYPE = ConnectorType(
    name="mysql",
    summary="MySQL or MariaDB: read tables or queries on a streaming cursor, write artifacts into tables",
    settings=Settings,
    credentials=Credentials,
    source=Source,
    target=Target,
    open=lambda settings, credentials, env: MysqlConnector(settings, credentials, env),
    hosts=lambda settings: [(settings["host"], settings["port"])],
)

"""A SQLite database file (a historian export, an HMI's local store) under the folder roots.

Reads open the file read-only (``mode=ro`` URI) and stream a table or a query as CSV; writes open
it read-write and insert an artifact's rows in one transaction, creating the table if asked.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import marshmallow as ma

from appliance.services.connectors.base import ConnectorError, ConnectorType, Entry, Environment, Listing, ReadStream
from appliance.services.connectors.tabular import artifact_batches, csv_chunks, sql_type

_MODES = ("append", "replace", "create")


class Settings(ma.Schema):
    path = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=1024),
        metadata={"description": "Absolute path of the .db file, under one of `[connectors] folder_roots`"},
    )


class Source(ma.Schema):
    table = ma.fields.String(validate=ma.validate.Length(min=1, max=200))
    query = ma.fields.String(validate=ma.validate.Length(min=1, max=20_000))

    @ma.validates_schema
    def one_of(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if ("table" in data) == ("query" in data):
            raise ma.ValidationError("give exactly one of table or query", "table")


class Target(ma.Schema):
    table = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    mode = ma.fields.String(load_default="append", validate=ma.validate.OneOf(_MODES))


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _fail(exc: sqlite3.Error, what: str) -> ConnectorError:
    text = str(exc)
    if "no such table" in text:
        return ConnectorError("not_found", f"{what}: {text}")
    if "unable to open" in text or "readonly" in text or "attempt to write" in text:
        return ConnectorError("permission", f"{what}: {text}")
    if "not a database" in text:
        return ConnectorError("invalid", f"{what}: {text}")
    return ConnectorError("invalid", f"{what}: {text}")


class SqliteConnector:
    def __init__(self, settings: Mapping[str, Any], env: Environment) -> None:
        self.path = env.folder(settings["path"])

    def _open(self, write: bool = False) -> sqlite3.Connection:
        if not self.path.is_file():
            raise ConnectorError("not_found", f"{self.path} is not a file")
        try:
            uri = f"file:{self.path}?mode={'rw' if write else 'ro'}"
            return sqlite3.connect(uri, uri=True, timeout=10, check_same_thread=False)
        except sqlite3.Error as exc:
            raise _fail(exc, f"cannot open {self.path}") from exc

    def _tables(self, conn: sqlite3.Connection) -> list[tuple[str, str]]:
        try:
            return conn.execute(
                "SELECT name, type FROM sqlite_schema WHERE type IN ('table', 'view')"
                " AND name NOT LIKE 'sqlite_%' ORDER BY name"
            ).fetchall()
        except sqlite3.Error as exc:
            raise _fail(exc, f"cannot read {self.path.name}") from exc

    def test(self) -> dict[str, Any]:
        conn = self._open()
        try:
            return {"file": str(self.path), "tables": len(self._tables(conn))}
        finally:
            conn.close()

    def browse(self, path: str, cursor: str | None, limit: int) -> Listing:
        conn = self._open()
        try:
            if path:
                columns = conn.execute(f"PRAGMA table_info({_quote(path)})").fetchall()
                if not columns:
                    raise ConnectorError("not_found", f"no table {path!r}")
                return Listing([Entry(c[1], f"{path}.{c[1]}", "column", detail={"type": c[2]}) for c in columns], None)
            tables = [t for t in self._tables(conn) if not cursor or t[0] > cursor]
            entries = [Entry(name, name, kind, children=True) for name, kind in tables[:limit]]
            return Listing(entries, entries[-1].name if len(tables) > limit and entries else None)
        finally:
            conn.close()

    def read(self, source: Mapping[str, Any]) -> ReadStream:
        conn = self._open()
        sql = source.get("query") or f"SELECT * FROM {_quote(source['table'])}"
        try:
            cursor = conn.execute(sql)
        except sqlite3.Error as exc:
            conn.close()
            raise _fail(exc, "cannot read") from exc
        header = [d[0] for d in cursor.description or ()]

        def rows() -> Iterator[tuple[Any, ...]]:
            while batch := cursor.fetchmany(5000):
                yield from batch

        def chunks() -> Iterator[bytes]:
            try:
                yield from csv_chunks(header, rows())
            finally:
                conn.close()

        return ReadStream("csv", chunks(), self.path.stat().st_size, {**source}, conn.close)

    def write(self, target: Mapping[str, Any], name: str, fmt: str, path: Path) -> dict[str, Any]:
        conn = self._open(write=True)
        table, mode, rows = target["table"], target.get("mode", "append"), 0
        try:
            with conn:
                exists = any(t[0] == table for t in self._tables(conn))
                if mode == "create" and exists:
                    raise ConnectorError("invalid", f"the table {table!r} exists (mode create)")
                if mode == "append" and not exists:
                    raise ConnectorError("not_found", f"no table {table!r}; use mode create or replace")
                for batch in artifact_batches(path, fmt):
                    names = batch.schema.names
                    if mode in ("create", "replace") and rows == 0:
                        conn.execute(f"DROP TABLE IF EXISTS {_quote(table)}")
                        cols = ", ".join(f"{_quote(f.name)} {sql_type(f.type, 'sqlite')}" for f in batch.schema)
                        conn.execute(f"CREATE TABLE {_quote(table)} ({cols})")
                    marks = ", ".join("?" for _ in names)
                    columns = ", ".join(_quote(n) for n in names)
                    values = zip(*(column.to_pylist() for column in batch.columns), strict=True)
                    conn.executemany(f"INSERT INTO {_quote(table)} ({columns}) VALUES ({marks})", values)
                    rows += batch.num_rows
        except sqlite3.Error as exc:
            raise _fail(exc, f"cannot write {table}") from exc
        finally:
            conn.close()
        return {"table": table, "rows": rows}


TYPE = ConnectorType(
    name="sqlite",
    summary="A SQLite database file under the folder roots: read tables or queries, write tables",
    settings=Settings,
    source=Source,
    target=Target,
    open=lambda settings, _credentials, env: SqliteConnector(settings, env),
)

"""Exceptions of the mock-data engine.

They carry enough structure (a field path) for the API layer to build a 400 envelope whose
``details`` name the offending field, without this package knowing anything about HTTP.
"""

from __future__ import annotations


class SchemaError(ValueError):
    """A schema (or a value derived from it) is invalid.

    ``field_path`` points into the JSON the user sent, e.g. ``tables[0].columns[3].weights``,
    so the user can find the mistake without reading our code.
    """

    def __init__(self, field_path: str, message: str) -> None:
        super().__init__(f"{field_path}: {message}" if field_path else message)
        self.field_path = field_path
        self.message = message


class GenerationCanceled(RuntimeError):
    """``should_cancel`` returned true; partial files have already been removed."""

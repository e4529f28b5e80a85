"""Dataset format names, media types and how a client declares them: no parsing, no pyarrow, so
the API can validate requests without loading the data stack."""

from __future__ import annotations

from pathlib import Path

UPLOAD_FORMATS = ("csv", "tsv", "parquet", "jsonl")
MEDIA_TYPES = {
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "parquet": "application/vnd.apache.parquet",
    "jsonl": "application/jsonl",
}
EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
CONTENT_TYPES = {
    "text/csv": "csv",
    "application/csv": "csv",
    "text/tab-separated-values": "tsv",
    "application/vnd.apache.parquet": "parquet",
    "application/x-parquet": "parquet",
    "application/jsonl": "jsonl",
    "application/x-ndjson": "jsonl",
    "application/jsonlines": "jsonl",
}


def declared_format(filename: str, content_type: str, explicit: str | None) -> str | None:
    """The format the client claims: ``?format=``, then the file extension, then the content type."""
    if explicit:
        return explicit
    suffix = Path(filename).suffix.lower()
    if suffix in EXTENSIONS:
        return EXTENSIONS[suffix]
    return CONTENT_TYPES.get(content_type.split(";")[0].strip().lower())


class FormatError(ValueError):
    """The file is not what it claims to be, or cannot be parsed; the message says why."""

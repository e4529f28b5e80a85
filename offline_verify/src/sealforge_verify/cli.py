"""``sealforge-verify``: the auditor's command line.

Why a thin layer: all checks live in :mod:`sealforge_verify.verify`; this module only turns
arguments into calls and results into an exit status. Exit 0: every check passed (skips allowed;
the result line says plainly when artifacts were not checked). Exit 1: a check failed, or, with
``--require-artifacts``, an artifact had no copy to check. Exit 2: bad usage (missing file,
unreadable trust file, a bundle that is not a readable tar), with a one-line message on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from sealforge_verify.bundle import BundleFormatError
from sealforge_verify.keys import TrustFileError, load_trust_file
from sealforge_verify.report import format_text
from sealforge_verify.verify import verify_bundle

__all__ = ["main"]

PROG = "sealforge-verify"
EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
MAX_SIDE_FILE = 1024 * 1024


class UsageError(Exception):
    """Bad invocation: reported on one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {PROG} --help)")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog=PROG,
        description="Verify a Sealforge evidence bundle offline: signature, artifacts, log inclusion "
        "and, optionally, consistency with a checkpoint you kept (older or newer).",
        epilog="Exit status: 0 all checks passed, 1 a check failed, 2 bad usage or unreadable bundle.",
    )
    p.add_argument("bundle", metavar="BUNDLE", help="the evidence bundle (.tar)")
    p.add_argument("--trust", metavar="KEYFILE", required=True, help="trusted verifier keys, one per line")
    p.add_argument("--artifacts", metavar="DIR", help="directory holding artifacts by subject name")
    p.add_argument(
        "--prev-checkpoint",
        metavar="FILE",
        help="a signed checkpoint you kept, older or newer than the bundle's",
    )
    p.add_argument(
        "--consistency-proof",
        metavar="FILE",
        help="consistency proof JSON between the two checkpoints' sizes, smaller first "
        "(GET /v1/seals/proof/consistency?from=&to=); the report says which one it needs",
    )
    p.add_argument(
        "--require-artifacts",
        action="store_true",
        help="fail (exit 1) when any artifact has no copy to check, instead of reporting it unchecked",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    return p


def _read_side_file(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_SIDE_FILE + 1)
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_SIDE_FILE:
        raise UsageError(f"{what} {path} is larger than {MAX_SIDE_FILE} bytes")
    return data


def run(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, verify, print the report; return the exit status (raises UsageError)."""
    args = build_parser().parse_args(argv)
    if not Path(args.bundle).is_file():
        raise UsageError(f"bundle {args.bundle} does not exist or is not a file")
    try:
        trusted = load_trust_file(args.trust)
    except TrustFileError as exc:
        raise UsageError(f"trust file {args.trust}: {exc}") from None
    if args.artifacts is not None and not Path(args.artifacts).is_dir():
        raise UsageError(f"--artifacts {args.artifacts} is not a directory")
    prev = _read_side_file(args.prev_checkpoint, "--prev-checkpoint") if args.prev_checkpoint else None
    proof = _read_side_file(args.consistency_proof, "--consistency-proof") if args.consistency_proof else None
    try:
        report = verify_bundle(
            args.bundle,
            trusted,
            artifacts_dir=args.artifacts,
            prev_checkpoint=prev,
            consistency_proof=proof,
            require_artifacts=args.require_artifacts,
        )
    except BundleFormatError as exc:
        raise UsageError(f"bundle {args.bundle}: {exc}") from None
    if args.json:
        sys.stdout.write(json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(format_text(report))
    return EXIT_OK if report.ok else EXIT_FAIL


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point; returns the exit status."""
    try:
        return run(argv)
    except UsageError as exc:
        message = " ".join(str(exc).split())
        sys.stderr.write(f"{PROG}: error: {message}\n")
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())

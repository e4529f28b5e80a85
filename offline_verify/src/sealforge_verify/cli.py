"""``sealforge-verify``: the auditor's command line.

Why a thin layer: all checks live in :mod:`sealforge_verify.verify`; this module only turns
arguments into calls and results into an exit status. Exit 0: every check passed (skips allowed;
the result line says plainly when artifacts were not checked). Exit 1: a check failed, or, with
``--require-artifacts``, an artifact had no copy to check. Exit 2: bad usage (missing file,
unreadable trust file, a bundle that is not a readable tar), with a one-line message on stderr.
``sealforge-verify witness ...`` is the offline witness (:mod:`sealforge_verify.witness_cli`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from sealforge_verify.bundle import BundleFormatError
from sealforge_verify.cosignature import WitnessKey, parse_witness_keys
from sealforge_verify.keys import TrustFileError, load_trust_file
from sealforge_verify.note import NoteError
from sealforge_verify.report import format_text
from sealforge_verify.usage import EXIT_FAIL, EXIT_OK, EXIT_USAGE, PROG, Parser, UsageError, read_side_file
from sealforge_verify.verify import verify_bundle
from sealforge_verify.witness_cli import run_witness

__all__ = ["main"]


def build_parser() -> argparse.ArgumentParser:
    p = Parser(
        prog=PROG,
        description="Verify a Sealforge evidence bundle offline: signature, artifacts, log inclusion "
        "and, optionally, consistency with a checkpoint you kept (older or newer).",
        epilog="Exit status: 0 all checks passed, 1 a check failed, 2 bad usage or unreadable bundle. "
        f"`{PROG} witness --help`: cosign checkpoints as an offline witness.",
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
    p.add_argument(
        "--witness",
        metavar="KEYFILE",
        action="append",
        default=[],
        help="a witness's cosigner key (vkey) file; repeat for each witness you trust",
    )
    p.add_argument(
        "--min-witnesses",
        metavar="N",
        type=int,
        help="how many of the --witness keys must have cosigned the bundle's checkpoint (default: all)",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    return p


def _witness_keys(paths: list[str], min_witnesses: int | None) -> list[WitnessKey]:
    keys: list[WitnessKey] = []
    for path in paths:
        try:
            text = read_side_file(path, "--witness").decode("utf-8")
            keys += [k for k in parse_witness_keys(text) if k not in keys]
        except (UnicodeDecodeError, NoteError) as exc:
            raise UsageError(f"--witness {path}: {exc}") from None
    if min_witnesses is not None and (min_witnesses < 0 or not keys):
        raise UsageError("--min-witnesses needs a number of at least 0 and at least one --witness KEYFILE")
    return keys


def run(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, verify, print the report; return the exit status (raises UsageError)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["witness"]:
        return run_witness(argv[1:])
    args = build_parser().parse_args(argv)
    if not Path(args.bundle).is_file():
        raise UsageError(f"bundle {args.bundle} does not exist or is not a file")
    try:
        trusted = load_trust_file(args.trust)
    except TrustFileError as exc:
        raise UsageError(f"trust file {args.trust}: {exc}") from None
    if args.artifacts is not None and not Path(args.artifacts).is_dir():
        raise UsageError(f"--artifacts {args.artifacts} is not a directory")
    prev = read_side_file(args.prev_checkpoint, "--prev-checkpoint") if args.prev_checkpoint else None
    proof = read_side_file(args.consistency_proof, "--consistency-proof") if args.consistency_proof else None
    witnesses = _witness_keys(args.witness, args.min_witnesses)
    try:
        report = verify_bundle(
            args.bundle,
            trusted,
            artifacts_dir=args.artifacts,
            prev_checkpoint=prev,
            consistency_proof=proof,
            require_artifacts=args.require_artifacts,
            witnesses=witnesses,
            min_witnesses=args.min_witnesses,
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

"""``sealforge-verify witness``: an auditor's offline witness, on the command line.

Why here: the auditor already has the verifier on an offline machine; the witness needs nothing
more (no service, no network), only its private key and a small state file beside it.

- ``keygen --name NAME --out KEYFILE``: a new witness key (mode 0600); prints the vkey line to
  hand to the operator (who registers it) and to auditors (who pass it to ``--witness``).
- ``vkey --key KEYFILE``: print the vkey of an existing key again.
- ``cosign --key KEYFILE --trust LOGKEYS --state STATEFILE CHECKPOINT [--proof FILE]``: check and
  cosign; prints the cosigned checkpoint (or with ``--line-only`` the signature line alone).

Exit status: 0 cosigned (or key written), 1 refused (fork, rollback, no or bad proof, bad log
signature: the reason is on stderr and nothing is signed), 2 bad usage.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from sealforge_verify.cosignature import WitnessSigner, parse_witness_signer
from sealforge_verify.files import atomic_open
from sealforge_verify.keys import TrustFileError, load_trust_file
from sealforge_verify.note import NoteError
from sealforge_verify.usage import EXIT_FAIL, EXIT_OK, PROG, Parser, UsageError, read_side_file
from sealforge_verify.witness import StateError, WitnessRefusal, witness

__all__ = ["run_witness"]


def build_parser() -> argparse.ArgumentParser:
    p = Parser(
        prog=f"{PROG} witness",
        description="An offline witness: cosign a log's checkpoint (C2SP tlog-cosignature) only after "
        "checking it extends the last checkpoint this witness cosigned.",
        epilog="Exit status: 0 done, 1 refused to cosign (reason on stderr), 2 bad usage.",
    )
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)
    keygen = sub.add_parser("keygen", help="make a new witness key")
    keygen.add_argument("--name", required=True, help="the witness's name, e.g. audit.example.com/w1")
    keygen.add_argument("--out", required=True, metavar="KEYFILE", help="where to write the private key (0600)")
    vkey = sub.add_parser("vkey", help="print the public key (vkey) of a witness key")
    vkey.add_argument("--key", required=True, metavar="KEYFILE")
    cosign = sub.add_parser("cosign", help="check a checkpoint and cosign it")
    cosign.add_argument(
        "checkpoint", metavar="CHECKPOINT", help="the signed checkpoint (GET /v1/seals/checkpoint?format=text)"
    )
    cosign.add_argument("--key", required=True, metavar="KEYFILE", help="the witness's private key")
    cosign.add_argument("--trust", required=True, metavar="KEYFILE", help="the log's verifier keys (trust file)")
    cosign.add_argument(
        "--state", required=True, metavar="STATEFILE", help="what this witness cosigned before (created if absent)"
    )
    cosign.add_argument(
        "--proof",
        metavar="FILE",
        help="consistency proof JSON from the last cosigned size to this one "
        "(GET /v1/seals/proof/consistency?from=OLD&to=NEW)",
    )
    cosign.add_argument("--line-only", action="store_true", help="print only the cosignature line")
    cosign.add_argument("--out", metavar="FILE", help="write the output to FILE instead of stdout")
    return p


def _load_signer(path: str) -> WitnessSigner:
    try:
        return parse_witness_signer(read_side_file(path, "--key").decode("utf-8"))
    except (UnicodeDecodeError, NoteError) as exc:
        raise UsageError(f"--key {path}: {exc}") from None


def _keygen(name: str, out: str) -> int:
    if os.path.lexists(out):
        raise UsageError(f"--out {out} already exists; a witness key is never overwritten")
    try:
        signer = WitnessSigner.generate(name)
    except NoteError as exc:
        raise UsageError(f"--name: {exc}") from None
    try:
        with atomic_open(out, 0o600) as fh:
            fh.write((signer.text + "\n").encode("utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot write {out}: {exc.strerror or exc}") from None
    sys.stdout.write(signer.verifier.text + "\n")
    sys.stderr.write(f"{PROG}: witness key written to {out} (keep it secret); its vkey is above\n")
    return EXIT_OK


def _cosign(args: argparse.Namespace) -> int:
    signer = _load_signer(args.key)
    try:
        log_keys = load_trust_file(args.trust)
    except TrustFileError as exc:
        raise UsageError(f"--trust {args.trust}: {exc}") from None
    note = read_side_file(args.checkpoint, "CHECKPOINT")
    proof = read_side_file(args.proof, "--proof") if args.proof else None
    try:
        done = witness(note, log_keys, signer, args.state, proof, int(time.time()))
    except WitnessRefusal as exc:
        sys.stderr.write(f"{PROG} witness: REFUSED to cosign: {exc}\n")
        return EXIT_FAIL
    except StateError as exc:
        raise UsageError(f"--state {args.state}: {exc}") from None
    output = done.line if args.line_only else done.note
    if args.out:
        Path(args.out).write_text(output, encoding="utf-8")
    else:
        sys.stdout.write(output)
    cp = done.checkpoint
    sys.stderr.write(
        f"{PROG} witness: cosigned {cp.origin!r} at size {cp.size} as {signer.verifier.ref}: {done.relation}\n"
    )
    return EXIT_OK


def run_witness(argv: Sequence[str]) -> int:
    """Run a witness subcommand; raises :class:`UsageError` for bad usage."""
    args = build_parser().parse_args(list(argv))
    if args.command == "keygen":
        return _keygen(args.name, args.out)
    if args.command == "vkey":
        sys.stdout.write(_load_signer(args.key).verifier.text + "\n")
        return EXIT_OK
    return _cosign(args)

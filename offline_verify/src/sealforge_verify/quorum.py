"""The ``witnesses`` check: does the bundle's checkpoint carry enough cosignatures from witnesses
the auditor trusts?

Why a separate check: the log's signature and the inclusion proof say the seal is in the tree the
log signed; only cosignatures from independent witnesses say that tree is the one everybody else
was shown too. The auditor names the witnesses (``--witness KEYFILE``) and how many must agree
(``--min-witnesses N``, by default all of them); cosignature lines from other keys are ignored.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from sealforge_verify.cosignature import WitnessKey, cosignatures_of
from sealforge_verify.note import NoteError, parse_note
from sealforge_verify.report import FAIL, PASS, Check

__all__ = ["WITNESSES", "witnesses_check"]

WITNESSES = "witnesses"


def _when(timestamp: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))


def witnesses_check(checkpoint_note: bytes, witnesses: Sequence[WitnessKey], min_witnesses: int | None) -> Check:
    """PASS when at least ``min_witnesses`` (default: every one given) of ``witnesses`` cosigned
    the checkpoint; FAIL, naming who is missing, otherwise."""
    need = len(witnesses) if min_witnesses is None else min_witnesses
    try:
        note = parse_note(checkpoint_note)
    except NoteError as exc:
        return Check(WITNESSES, FAIL, f"checkpoint.txt is malformed: {exc}")
    good, bad = cosignatures_of(note, witnesses)
    good.sort(key=lambda c: c.key.ref)
    signed = ", ".join(f"{c.key.ref} at {_when(c.timestamp)}" for c in good) or "none"
    counted = f"{len(good)} of the {len(witnesses)} given witness(es) cosigned the checkpoint ({signed})"
    problems = [f"cosignature by {ref} does NOT verify" for ref in bad]
    if len(good) < need:
        cosigned = {c.key for c in good}
        missing = ", ".join(k.ref for k in witnesses if k not in cosigned)
        return Check(
            WITNESSES,
            FAIL,
            f"NOT ENOUGH WITNESSES: {counted}; {need} required"
            + (f"; no valid cosignature from {missing}" if missing else "")
            + "".join(f"; {p}" for p in problems),
        )
    return Check(WITNESSES, PASS, f"{counted}; {need} required" + "".join(f"; {p}" for p in problems))

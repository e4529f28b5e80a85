"""The job contract: canonical JSON of {kind, params, seed, inputs}; its BLAKE3 is `contract_hash`.

Rerunning a job runs the same contract, and deterministic kinds must then give byte-identical
artifacts. The canonical form is the verifier's, so an auditor recomputes the same hash.
"""

from __future__ import annotations

from typing import Any

import blake3
from sealforge_verify.canonical import canonical_json


def build_contract(kind: str, params: dict[str, Any], seed: int, inputs: list[dict[str, str]]) -> dict[str, Any]:
    return {"kind": kind, "params": params, "seed": seed, "inputs": inputs}


def contract_bytes(contract: dict[str, Any]) -> bytes:
    return canonical_json(contract)


def contract_hash(contract: dict[str, Any]) -> str:
    return blake3.blake3(contract_bytes(contract)).hexdigest()

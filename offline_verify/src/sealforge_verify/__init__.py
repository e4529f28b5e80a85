"""Standalone offline verifier for Sealforge evidence bundles, and the writer side the appliance uses.

Depends only on ``blake3`` and ``cryptography``. The names below are the stable API; see
``README.md`` in ``offline_verify/`` for the bundle format and the appliance's call sequence.
"""

from sealforge_verify.bundle import Bundle, BundleFormatError, read_bundle, write_bundle, write_members
from sealforge_verify.dsse import Envelope, EnvelopeError, pae, parse_envelope, sign_envelope, verify_envelope
from sealforge_verify.encoding import b64decode_strict, b64encode, canonical_json
from sealforge_verify.hashing import blake3_file, blake3_stream, sha256_file
from sealforge_verify.keys import (
    TrustFileError,
    format_trust_file,
    generate_signer,
    load_signer,
    load_trust_file,
    parse_trust_file,
    save_signer,
)
from sealforge_verify.merkle import (
    BLAKE3,
    SHA256,
    Hasher,
    MerkleTree,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)
from sealforge_verify.note import (
    Checkpoint,
    NoteError,
    SignerKey,
    VerifierKey,
    compute_key_id,
    parse_checkpoint,
    parse_note,
    parse_signer_key,
    parse_verifier_key,
    sign_checkpoint,
    sign_note,
    verify_note,
)
from sealforge_verify.proofs import ConsistencyProof, InclusionProof
from sealforge_verify.report import Check, Report, format_text
from sealforge_verify.sealing import build_bundle, log_leaf_hash, make_checkpoint, seal_statement
from sealforge_verify.statement import (
    PAYLOAD_TYPE,
    PREDICATE_TYPE,
    STATEMENT_TYPE,
    Subject,
    build_statement,
    statement_bytes,
    validate_statement,
)
from sealforge_verify.verify import verify_bundle, verify_opened

__version__ = "0.1.0"

__all__ = [
    "BLAKE3",
    "PAYLOAD_TYPE",
    "PREDICATE_TYPE",
    "SHA256",
    "STATEMENT_TYPE",
    "Bundle",
    "BundleFormatError",
    "Check",
    "Checkpoint",
    "ConsistencyProof",
    "Envelope",
    "EnvelopeError",
    "Hasher",
    "InclusionProof",
    "MerkleTree",
    "NoteError",
    "ProofError",
    "Report",
    "SignerKey",
    "Subject",
    "TrustFileError",
    "VerifierKey",
    "b64decode_strict",
    "b64encode",
    "blake3_file",
    "blake3_stream",
    "build_bundle",
    "build_statement",
    "canonical_json",
    "compute_key_id",
    "consistency_proof",
    "format_text",
    "format_trust_file",
    "generate_signer",
    "inclusion_proof",
    "leaf_hash",
    "load_signer",
    "load_trust_file",
    "log_leaf_hash",
    "make_checkpoint",
    "pae",
    "parse_checkpoint",
    "parse_envelope",
    "parse_note",
    "parse_signer_key",
    "parse_trust_file",
    "parse_verifier_key",
    "read_bundle",
    "root_hash",
    "save_signer",
    "seal_statement",
    "sha256_file",
    "sign_checkpoint",
    "sign_envelope",
    "sign_note",
    "statement_bytes",
    "validate_statement",
    "verify_bundle",
    "verify_consistency",
    "verify_envelope",
    "verify_inclusion",
    "verify_note",
    "verify_opened",
    "write_bundle",
    "write_members",
]

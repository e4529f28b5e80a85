"""Evidence: every succeeded job is sealed (a signed in-toto Statement appended to a Merkle log
with a signed checkpoint) and can be exported as a bundle the offline verifier checks.

Modules: ``keys`` (the Ed25519 signing keys), ``statement`` (what a seal attests), ``seal_log``
(the append-only tree and its checkpoints), ``bundle`` and ``tarstream`` (the export), ``operations``
(the entry points, :func:`seal_job` among them) and ``selfcheck`` (the verify kind's check).
"""

from appliance.evidence.operations import seal_job

__all__ = ["seal_job"]

"""Canonical JSON, exported under its own name for the appliance (contracts, envelopes).

The implementation lives in :mod:`sealforge_verify.encoding` next to the strict base64 helpers.
"""

from sealforge_verify.encoding import canonical_json, parse_json_object

__all__ = ["canonical_json", "parse_json_object"]

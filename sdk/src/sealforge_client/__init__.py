"""Python client for the Sealforge appliance: `Client`, and `SealforgeError` for the error envelope.

Light on purpose: httpx only; pandas is used if installed (the `pandas` extra) to read artifacts.
"""

from sealforge_client.client import Client
from sealforge_client.errors import SealforgeError

__all__ = ["Client", "SealforgeError"]

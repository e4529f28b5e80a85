"""Python client for the Sealforge appliance: `Client` (and `AsyncClient` for asyncio), and
`SealforgeError` for the error envelope.

Light on purpose: httpx only; pandas (the ``dataframe`` extra) is imported only to read or write
tables. `radmah_sdk`, in the same distribution, is the published SDK's interface on top of this.
"""

from sealforge_client._core import NO_RETRY, RetryPolicy
from sealforge_client.aio import AsyncClient
from sealforge_client.client import Client
from sealforge_client.errors import SealforgeError

__all__ = ["NO_RETRY", "AsyncClient", "Client", "RetryPolicy", "SealforgeError"]

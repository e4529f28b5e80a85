"""The published RadMah SDK's interface for a Sealforge appliance: scripts written for
``from radmah_sdk import RadMahClient`` run unchanged with the appliance's URL and key.

Built on `sealforge_client` (same session, retries, resumable downloads); `AsyncRadMahClient` is
the asyncio variant. The base URL comes from ``base_url=`` or ``RADMAH_BASE_URL`` /
``SEALFORGE_URL``; the key from ``api_key=`` or ``RADMAH_API_KEY`` / ``SEALFORGE_API_KEY``.
"""

from sealforge_client import RetryPolicy, SealforgeError

from radmah_sdk._common import Artifact
from radmah_sdk.aio import AsyncJob, AsyncRadMahClient
from radmah_sdk.client import Job, RadMahClient
from radmah_sdk.webhooks import WebhookVerificationError, verify

__all__ = [
    "Artifact",
    "AsyncJob",
    "AsyncRadMahClient",
    "Job",
    "RadMahClient",
    "RetryPolicy",
    "SealforgeError",
    "WebhookVerificationError",
    "verify",
]

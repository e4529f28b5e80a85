"""Webhooks: signed events to plant systems, delivered at least once, never a door out of the LAN.

`emit(conn, tenant_id, event_type, resource)` is the one hook the write paths call, inside their
transaction (`outbox`); `endpoints` is what the API manages; `deliverer` is the process that sends;
`delivery` one attempt and its consequences; `signing` the signatures; `destinations` the
allowlist; `secretbox` the secrets at rest; `settings` the `[webhooks]` config. docs/webhooks.md
is the user's side of all this.
"""

from __future__ import annotations

from appliance.services.webhooks.outbox import emit

__all__ = ["emit"]

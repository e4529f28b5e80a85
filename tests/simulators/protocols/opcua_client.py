"""An asyncua client as an HMI would open one, and the three things a role decides: read a
measurement, write a setpoint, call a method. Shared by the simulator-level and the appliance-level
OPC UA security tests."""

from __future__ import annotations

from pathlib import Path

from asyncua import Client, ua


async def configured_client(endpoint: str, client_uri: str, pki: Path, user: str | None = None,
                            password: str | None = None, policy: str | None = "Basic256Sha256",
                            cert: str = "client") -> Client:
    """A client, not yet connected: `policy` SignAndEncrypt with the `cert` key pair from `pki`
    (None: the None endpoint), logging in as `user` (None: anonymous)."""
    client = Client(endpoint, timeout=30)  # a login flood on a 2-core box is slow to answer
    client.application_uri = client_uri
    if policy is not None:
        await client.set_security_string(f"{policy},SignAndEncrypt,{pki / f'{cert}.der'},{pki / f'{cert}.pem'}")
    if user is not None:
        client.set_user(user)
        client.set_password(password or "")
    return client


async def read_write_call(client: Client, method: str) -> dict[str, object]:
    """Read LIT101, write LIC101.SP and call P101/`method` on a connected client: the value read,
    then "ok" or the status code's name for the write and the call."""
    ns = await client.get_namespace_index("urn:sealforge:sim:water")
    out: dict[str, object] = {
        "read": float(await client.get_node(ua.NodeId("LIT101", ns)).read_value())  # type: ignore[arg-type]
    }
    for name, action in (
        ("write", client.get_node(ua.NodeId("LIC101.SP", ns)).write_value(  # type: ignore[arg-type]
            ua.DataValue(ua.Variant(3.0, ua.VariantType.Double)))),
        ("call", client.get_node(ua.NodeId("water/P101", ns)).call_method(f"{ns}:{method}")),  # type: ignore[arg-type]
    ):
        try:
            await action
            out[name] = "ok"
        except ua.UaStatusCodeError as exc:
            out[name] = type(exc).__name__
    return out

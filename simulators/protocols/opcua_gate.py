"""The password check of an OPC UA login, awaited off the server's event loop.

asyncua activates a session synchronously: `InternalSession.activate_session` calls the user
manager and uses its answer at once, on the event loop that also serves every other OPC UA client
and, in a live run, the Modbus server. A password check (scrypt) blocks that loop for tens of
milliseconds, so twenty bad logins used to hold Modbus answers back by more than a second.

`GatedProcessor` (asyncua's request processor, one per connection) intercepts ActivateSession:
it decodes the user-name token, runs the caller's authenticator in a small thread pool
(`LoginGate`), and leaves the answer in `opcua_auth.VERDICT` for the user manager to apply when
asyncua goes on. Logins wait for the pool in turn (one worker by default), so a throttling
authenticator sees each failure before it is asked about the next attempt; past
`max_pending_logins` waiting logins, more are refused at once. The channel rules are checked first:
a user-name token on an unencrypted or untrusted channel never reaches the password check.

asyncua builds its processor inside `OPCUAProtocol.connection_made`, and its `BinaryServer` inside
`Server.start`, so `GatedServer` overrides `start` (the same steps as asyncua 2.x) to use a
`BinaryServer` whose protocols carry a `GatedProcessor`.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asyncua import Server, ua
from asyncua.crypto import uacrypto
from asyncua.server.binary_server_asyncio import BinaryServer, OPCUAProtocol
from asyncua.server.uaprocessor import UaProcessor
from asyncua.ua.ua_binary import struct_from_binary

from simulators.protocols.opcua_auth import VERDICT, LoginThrottled, OpcUaSecurity, Role, text
from simulators.protocols.opcua_trust import TrustList

log = logging.getLogger(__name__)
_ACTIVATE = ua.NodeId(ua.ObjectIds.ActivateSessionRequest_Encoding_DefaultBinary)  # type: ignore[arg-type]


class LoginGate:
    """Runs the authenticator in a thread pool, at most `max_pending` logins waiting."""

    def __init__(self, security: OpcUaSecurity, trust: TrustList | None) -> None:
        self.security = security
        self.trust = trust
        self.stats: Counter[str] = Counter()
        self._pool: ThreadPoolExecutor | None = None
        self._pending = 0  # only touched on the event loop

    def open(self) -> None:
        self._pool = ThreadPoolExecutor(self.security.login_workers, thread_name_prefix="opcua-login")

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    async def verdict(self, processor: UaProcessor, requesthdr: Any, body: Any) -> tuple[str, str, Role | None] | None:
        """The authenticator's answer for a user-name ActivateSession on a trusted secure channel;
        None for anything the user manager refuses (or admits) without a password check."""
        session = processor.session or processor.iserver.lookup_external_session(requesthdr.AuthenticationToken)
        params = struct_from_binary(ua.ActivateSessionParameters, body)
        token = params.UserIdentityToken
        peer = processor._connection.security_policy.peer_certificate
        if session is None or not isinstance(token, ua.UserNameIdentityToken) or not peer:
            return None
        if self.trust is not None:
            await self.trust.refresh()
        if self.trust is None or not self.trust.is_trusted(peer):
            return None
        try:
            username, password = processor.iserver.decrypt_user_token(session, token)
        except Exception:
            return None
        source = str(processor.name[0]) if isinstance(processor.name, tuple) else str(processor.name)
        return username, text(password), await self._check(username, text(password), source)

    async def _check(self, username: str, password: str, source: str) -> Role | None:
        check, pool = self.security.authenticate, self._pool
        if check is None or pool is None:
            return None
        if self._pending >= self.security.max_pending_logins:
            self.stats["shed"] += 1
            return None
        self._pending += 1
        try:
            role = await asyncio.get_running_loop().run_in_executor(pool, check, username, password, source)
        except LoginThrottled:
            self.stats["throttled"] += 1
            log.warning("OPC UA login for %r from %s refused: too many failed attempts", username, source)
            return None
        except Exception:
            log.exception("authenticate() failed for %r; refusing the session", username)
            role = None
        finally:
            self._pending -= 1
        self.stats["admitted" if role is not None else "refused"] += 1
        if role is None:
            log.warning("OPC UA login refused for %r from %s", username, source)
        return Role(role) if role is not None else None


class GatedProcessor(UaProcessor):
    """asyncua's request processor, with the password check of ActivateSession awaited off the loop."""

    gate: LoginGate

    async def _process_message(self, typeid: Any, requesthdr: Any, seqhdr: Any, body: Any) -> Any:
        if typeid != _ACTIVATE:
            return await super()._process_message(typeid, requesthdr, seqhdr, body)
        verdict = await self.gate.verdict(self, requesthdr, body.copy())
        token = VERDICT.set(verdict)
        try:
            return await super()._process_message(typeid, requesthdr, seqhdr, body)
        finally:
            VERDICT.reset(token)


class _Protocol(OPCUAProtocol):
    gate: LoginGate

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        if self.processor is None:  # refused: too many connections
            return
        processor = GatedProcessor(self.iserver, self.transport, self.limits)
        processor.gate = self.gate
        processor.set_policies(self.policies)
        self.processor = processor


class _BinaryServer(BinaryServer):
    gate: LoginGate

    def _make_protocol(self) -> OPCUAProtocol:
        protocol = _Protocol(iserver=self.iserver, policies=self._policies, clients=self.clients,
                             closing_tasks=self.closing_tasks, limits=self.limits)
        protocol.gate = self.gate
        return protocol


class GatedServer(Server):
    """asyncua's Server whose connections check passwords through `gate`."""

    def __init__(self, gate: LoginGate, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.gate = gate

    async def start(self) -> None:
        if self.iserver.certificate is not None:
            uacrypto.check_certificate(self.iserver.certificate, self._application_uri, socket.gethostname())
        await self._setup_server_nodes()
        _split_token_policies(self.iserver.endpoints)
        await self.iserver.start()
        try:
            host, port = self._get_bind_socket_info()
            bserver = _BinaryServer(self.iserver, host, port, self.limits)  # type: ignore[arg-type]
            bserver.gate = self.gate
            bserver.set_policies(self._policies)
            self.bserver = bserver
            self.gate.open()
            await bserver.start()
        except Exception:
            self.gate.close()
            await self.iserver.stop()
            raise

    async def stop(self) -> None:
        try:
            await super().stop()
        finally:
            self.gate.close()


def _split_token_policies(endpoints: list[ua.EndpointDescription]) -> None:
    """asyncua offers every token type on every endpoint; offer anonymous on the None endpoint only
    and user names on the secure ones only (the user manager enforces the same per channel)."""
    for endpoint in endpoints:
        wanted = (ua.UserTokenType.Anonymous if endpoint.SecurityMode == ua.MessageSecurityMode.None_
                  else ua.UserTokenType.UserName)
        endpoint.UserIdentityTokens = [t for t in endpoint.UserIdentityTokens if t.TokenType == wanted]

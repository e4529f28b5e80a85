"""Who is calling: the tenant, the caller id and the scopes their credential grants.

Scopes nest: ``operator`` ⊇ ``admin`` ⊇ ``generate`` ⊇ ``read``. ``operator`` is the appliance
operator's: it grants credits. A tenant's admin manages its own keys but cannot mint credits, so
``operator`` is not among the ``TENANT_SCOPES`` the API may grant; only the admin CLI, run on the
box itself, creates keys or users with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SCOPES = ("read", "generate", "admin", "operator")
TENANT_SCOPES = ("read", "generate", "admin")
OPERATOR = "operator"
_IMPLIES = {
    "operator": {"operator", "admin", "generate", "read"},
    "admin": {"admin", "generate", "read"},
    "generate": {"generate", "read"},
    "read": {"read"},
}


def parse_scopes(raw: str | list[str]) -> list[str]:
    """Scopes from ``read,generate`` or a list; unknown names raise ValueError."""
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    scopes = {s.strip() for s in items if s.strip()}
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise ValueError(f"unknown scope(s) {', '.join(unknown)}; use {', '.join(SCOPES)}")
    if not scopes:
        raise ValueError(f"at least one scope is needed: {', '.join(SCOPES)}")
    return [s for s in SCOPES if s in scopes]


def effective_scopes(granted: list[str]) -> frozenset[str]:
    """Each scope implies the ones below it: ``operator`` > ``admin`` > ``generate`` > ``read``."""
    out: set[str] = set()
    for scope in granted:
        out |= _IMPLIES.get(scope, set())
    return frozenset(out)


@dataclass(frozen=True)
class Principal:
    tenant_id: str
    caller: str
    kind: str  # "key" or "user"
    scopes: frozenset[str] = field(default_factory=frozenset)
    granted: tuple[str, ...] = ()
    token_id: str | None = None
    token_expires: float | None = None

    def has(self, scope: str) -> bool:
        return scope in self.scopes

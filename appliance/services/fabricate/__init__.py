"""Plain English to a mock schema, offline and rule-based (the ``fabricate`` job kind's planner).

``plan_from_description(text, seed) -> plan dict`` — the plan's ``schema`` passes the mock
engine's ``validate_schema``; unknown words become fallbacks listed in ``plan["warnings"]``.
"""

from .planner import plan_from_description

__all__ = ["plan_from_description"]

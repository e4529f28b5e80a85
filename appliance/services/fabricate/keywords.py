"""The planner's vocabulary: attribute keywords, entity nouns and a few domain rules.

Everything the planner "knows" lives in these tables, so extending it means adding a row here,
not writing code. Each attribute maps to a column spec of the mock schema (without its name).
"""

from __future__ import annotations

from typing import Any

DEFAULT_DATE_RANGE = ("2020-01-01", "2024-12-31")
"""Fixed, so a plan never depends on the day it was made."""


def _lognormal(mu: float, sigma: float, lo: float) -> dict[str, Any]:
    return {"type": "float", "generator": "lognormal", "mu": mu, "sigma": sigma, "min": lo, "decimals": 2}


def _normal(mean: float, std: float, decimals: int = 2) -> dict[str, Any]:
    return {"type": "float", "generator": "normal", "mean": mean, "std": std, "decimals": decimals}


def _category(values: list[Any], weights: list[float] | None = None, ctype: str = "string") -> dict[str, Any]:
    spec: dict[str, Any] = {"type": ctype, "generator": "category", "categories": values}
    if weights is not None:
        spec["weights"] = weights
    return spec


DATE = {"type": "date", "generator": "uniform", "min": DEFAULT_DATE_RANGE[0], "max": DEFAULT_DATE_RANGE[1]}
TIMESTAMP = {"type": "timestamp", "generator": "uniform",
             "min": DEFAULT_DATE_RANGE[0] + "T00:00:00", "max": DEFAULT_DATE_RANGE[1] + "T23:59:59"}
TEXT_FALLBACK = {"type": "string", "generator": "words", "min": 1, "max": 3}
"""What an unknown attribute becomes: one to three words of bundled vocabulary."""

ATTRIBUTES: dict[str, dict[str, Any]] = {
    "age": {"type": "int", "generator": "normal", "mean": 40, "std": 15, "min": 18, "max": 90},
    "name": {"type": "string", "generator": "name"},
    "full name": {"type": "string", "generator": "name"},
    "first name": {"type": "string", "generator": "first_name"},
    "last name": {"type": "string", "generator": "last_name"},
    "surname": {"type": "string", "generator": "last_name"},
    "email": {"type": "string", "generator": "email"},
    "e-mail": {"type": "string", "generator": "email"},
    "phone": {"type": "string", "generator": "phone"},
    "telephone": {"type": "string", "generator": "phone"},
    "address": {"type": "string", "generator": "address"},
    "street": {"type": "string", "generator": "street_address"},
    "city": {"type": "string", "generator": "city"},
    "country": {"type": "string", "generator": "country"},
    "location": {"type": "string", "generator": "city"},
    "company": {"type": "string", "generator": "company"},
    "employer": {"type": "string", "generator": "company"},
    "supplier": {"type": "string", "generator": "company"},
    "domain": {"type": "string", "generator": "domain"},
    "website": {"type": "string", "generator": "domain"},
    "gender": _category(["female", "male", "diverse"], [0.49, 0.49, 0.02]),
    "zip": {"type": "string", "generator": "pattern", "pattern": r"\d{5}"},
    "postcode": {"type": "string", "generator": "pattern", "pattern": r"\d{5}"},
    "postal code": {"type": "string", "generator": "pattern", "pattern": r"\d{5}"},
    "ip address": {"type": "string", "generator": "pattern", "pattern": r"10\.\d{1,3}\.\d{1,3}\.\d{1,3}"},
    "sku": {"type": "string", "generator": "pattern", "pattern": r"[A-Z]{3}-\d{5}"},
    "serial number": {"type": "string", "generator": "pattern", "pattern": r"[A-Z]{2}\d{8}"},
    "uuid": {"type": "string", "generator": "uuid"},
    "date": DATE,
    "signup date": DATE,
    "sign up date": DATE,
    "registration date": DATE,
    "join date": DATE,
    "order date": DATE,
    "purchase date": DATE,
    "ship date": DATE,
    "delivery date": DATE,
    "birth date": {"type": "date", "generator": "uniform", "min": "1940-01-01", "max": "2006-12-31"},
    "date of birth": {"type": "date", "generator": "uniform", "min": "1940-01-01", "max": "2006-12-31"},
    "birthday": {"type": "date", "generator": "uniform", "min": "1940-01-01", "max": "2006-12-31"},
    "timestamp": TIMESTAMP,
    "time": TIMESTAMP,
    "created at": TIMESTAMP,
    "updated at": TIMESTAMP,
    "last login": DATE,
    "start date": DATE,
    "end date": DATE,
    "start time": TIMESTAMP,
    "end time": TIMESTAMP,
    "price": _lognormal(3.5, 0.8, 0.5),
    "cost": _lognormal(3.5, 0.8, 0.5),
    "amount": _lognormal(4.0, 1.0, 0.5),
    "total": _lognormal(4.0, 1.0, 0.5),
    "revenue": _lognormal(6.0, 1.0, 1.0),
    "spend": _lognormal(4.0, 1.0, 0.5),
    "balance": _lognormal(7.0, 1.2, 0.0),
    "salary": _lognormal(10.8, 0.4, 15_000.0),
    "income": _lognormal(10.8, 0.5, 5_000.0),
    "discount": {"type": "float", "generator": "uniform", "min": 0.0, "max": 0.5, "decimals": 2},
    "quantity": {"type": "int", "generator": "poisson", "lam": 3, "min": 1},
    "units": {"type": "int", "generator": "poisson", "lam": 3, "min": 1},
    "rating": {"type": "int", "generator": "uniform", "min": 1, "max": 5},
    "score": {"type": "float", "generator": "uniform", "min": 0.0, "max": 100.0, "decimals": 1},
    "temperature": _normal(21.0, 5.0),
    "pressure": _normal(101.3, 2.0),
    "humidity": {"type": "float", "generator": "uniform", "min": 20.0, "max": 90.0, "decimals": 1},
    "voltage": _normal(230.0, 5.0),
    "current": _normal(10.0, 2.0),
    "power": _lognormal(7.0, 0.5, 0.0),
    "flow": _normal(50.0, 10.0),
    "flow rate": _normal(50.0, 10.0),
    "level": {"type": "float", "generator": "uniform", "min": 0.0, "max": 100.0, "decimals": 1},
    "speed": _normal(1500.0, 100.0, 1),
    "rpm": _normal(1500.0, 100.0, 1),
    "vibration": _lognormal(0.0, 0.5, 0.0),
    "battery": {"type": "int", "generator": "uniform", "min": 0, "max": 100},
    "latitude": {"type": "float", "generator": "uniform", "min": -90.0, "max": 90.0, "decimals": 6},
    "longitude": {"type": "float", "generator": "uniform", "min": -180.0, "max": 180.0, "decimals": 6},
    "currency": _category(["EUR", "USD", "GBP", "CHF", "JPY"], [0.4, 0.35, 0.1, 0.1, 0.05]),
    "payment method": _category(["card", "bank transfer", "cash", "wallet"], [0.55, 0.25, 0.1, 0.1]),
    "status": _category(["active", "inactive", "suspended"], [0.8, 0.15, 0.05]),
    "type": _category(["A", "B", "C"]),
    "category": _category(["A", "B", "C", "D"]),
    "tier": _category(["free", "basic", "premium"], [0.6, 0.3, 0.1]),
    "unit": _category(["kg", "l", "pcs", "m"]),
    "sensor type": _category(["temperature", "pressure", "flow", "level", "vibration"]),
    "weight": _lognormal(1.0, 0.8, 0.01),
    "height": _normal(170.0, 10.0, 1),
    "length": _lognormal(2.0, 0.6, 0.01),
    "width": _lognormal(2.0, 0.6, 0.01),
    "size": _category(["XS", "S", "M", "L", "XL"], [0.1, 0.25, 0.3, 0.25, 0.1]),
    "colour": _category(["red", "green", "blue", "black", "white", "grey", "yellow"]),
    "color": _category(["red", "green", "blue", "black", "white", "grey", "yellow"]),
    "duration": {"type": "int", "generator": "exponential", "scale": 300, "min": 1},
    "distance": _lognormal(3.0, 1.0, 0.01),
    "count": {"type": "int", "generator": "poisson", "lam": 5},
    "year": {"type": "int", "generator": "uniform", "min": 2000, "max": 2024},
    "description": {"type": "string", "generator": "words", "min": 3, "max": 12},
    "notes": {"type": "string", "generator": "words", "min": 3, "max": 12},
    "comment": {"type": "string", "generator": "words", "min": 3, "max": 12},
}
"""Keyword (lower case, singular) -> column spec. Longest keyword in a phrase wins."""

FLAGS: dict[str, float] = {
    "active": 0.8, "verified": 0.7, "premium": 0.1, "churn": 0.1, "churned": 0.1, "subscribed": 0.3,
    "fraud": 0.01, "fraudulent": 0.01, "defective": 0.02, "anomaly": 0.02, "anomalous": 0.02,
    "returned": 0.05, "online": 0.9, "paid": 0.9, "vip": 0.05, "alarm": 0.02,
}
"""Yes/no attributes -> default probability of true."""

STATUS_BY_ENTITY: dict[str, dict[str, Any]] = {
    "orders": _category(["pending", "shipped", "delivered", "cancelled", "returned"], [0.1, 0.2, 0.6, 0.07, 0.03]),
    "tickets": _category(["open", "in progress", "resolved", "closed"], [0.2, 0.2, 0.3, 0.3]),
    "sensors": _category(["ok", "warning", "fault", "offline"], [0.9, 0.06, 0.02, 0.02]),
    "machines": _category(["running", "idle", "maintenance", "fault"], [0.7, 0.2, 0.07, 0.03]),
}

ENTITIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "customer": ("customers", ("name", "email", "country", "signup date")),
    "client": ("clients", ("name", "email", "country", "signup date")),
    "user": ("users", ("name", "email", "country", "signup date")),
    "person": ("people", ("first name", "last name", "age", "city")),
    "people": ("people", ("first name", "last name", "age", "city")),
    "employee": ("employees", ("name", "email", "salary", "join date")),
    "patient": ("patients", ("name", "age", "gender", "date of birth")),
    "student": ("students", ("name", "age", "score")),
    "order": ("orders", ("order date", "amount", "status")),
    "purchase": ("purchases", ("purchase date", "amount", "payment method")),
    "transaction": ("transactions", ("timestamp", "amount", "currency")),
    "payment": ("payments", ("timestamp", "amount", "payment method")),
    "invoice": ("invoices", ("date", "amount", "status")),
    "product": ("products", ("sku", "name", "price", "category")),
    "item": ("items", ("sku", "price", "quantity")),
    "sensor": ("sensors", ("sensor type", "location", "status")),
    "device": ("devices", ("serial number", "location", "status")),
    "meter": ("meters", ("serial number", "location")),
    "reading": ("readings", ("timestamp", "temperature", "pressure")),
    "measurement": ("measurements", ("timestamp", "temperature", "pressure")),
    "event": ("events", ("timestamp", "type", "description")),
    "log": ("logs", ("timestamp", "level", "description")),
    "machine": ("machines", ("serial number", "location", "status")),
    "asset": ("assets", ("serial number", "location", "status")),
    "account": ("accounts", ("name", "balance", "status", "created at")),
    "company": ("companies", ("company", "country", "revenue")),
    "supplier": ("suppliers", ("company", "country", "email")),
    "vendor": ("vendors", ("company", "country", "email")),
    "ticket": ("tickets", ("created at", "status", "description")),
    "shipment": ("shipments", ("ship date", "delivery date", "status")),
    "employee record": ("employees", ("name", "email", "salary", "join date")),
}
"""Singular noun -> (table name, default attributes when the text lists none)."""

PARENTS: dict[str, tuple[str, ...]] = {
    "orders": ("customers", "users", "clients"),
    "purchases": ("customers", "users", "clients"),
    "transactions": ("accounts", "customers", "users"),
    "payments": ("invoices", "orders", "customers"),
    "invoices": ("customers", "clients", "orders"),
    "readings": ("sensors", "devices", "meters", "machines"),
    "measurements": ("sensors", "devices", "meters", "machines"),
    "events": ("devices", "machines", "sensors", "users"),
    "logs": ("devices", "machines", "users"),
    "tickets": ("customers", "users", "clients"),
    "shipments": ("orders",),
    "items": ("orders", "products"),
}
"""Child table -> tables it points to, in order of preference, when both appear in one text."""

ORDERED_PAIRS = (
    ("signup_date", "last_login"),
    ("order_date", "ship_date"),
    ("ship_date", "delivery_date"),
    ("created_at", "updated_at"),
    ("start_date", "end_date"),
    ("start_time", "end_time"),
)
"""(earlier, later) column names: when both appear, the later one is derived with a gap."""

STOPWORDS = frozenset({"a", "an", "the", "their", "its", "his", "her", "of", "some", "random", "synthetic",
                       "fake", "realistic", "mock", "sample", "test", "dummy", "each", "per", "and", "with"})

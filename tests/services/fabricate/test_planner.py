"""The rule-based planner: counts, entities, attributes, percentages, relations, fallbacks."""

from __future__ import annotations

from typing import Any

import pytest

from appliance.services.fabricate import plan_from_description
from appliance.services.fabricate.parse import singular, snake, tokenize
from appliance.services.mock import preview, validate_schema


def _cols(plan: dict[str, Any], table: int = 0) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in plan["schema"]["tables"][table]["columns"]}


@pytest.mark.parametrize(("text", "rows"), [
    ("10k customers", 10_000), ("1.5 million orders", 1_500_000), ("500 sensors", 500),
    ("2,500 users", 2_500), ("a million transactions", 1_000_000), ("3M readings", 3_000_000),
    ("250 thousand products", 250_000),
])
def test_row_counts(text: str, rows: int) -> None:
    plan = plan_from_description(text, seed=1)
    assert plan["schema"]["tables"][0]["rows"] == rows
    assert plan["warnings"] == []


def test_issue_example() -> None:
    plan = plan_from_description("10k customers with age, country and signup date, 5% churn", seed=3)
    validate_schema(plan["schema"])
    table = plan["schema"]["tables"][0]
    assert table["name"] == "customers" and table["rows"] == 10_000
    cols = _cols(plan)
    assert list(cols) == ["id", "age", "country", "signup_date", "churn"]
    assert cols["age"]["generator"] == "normal" and (cols["age"]["min"], cols["age"]["max"]) == (18, 90)
    assert cols["country"]["generator"] == "country"
    assert cols["signup_date"]["type"] == "date"
    assert cols["churn"] == {"name": "churn", "type": "bool", "generator": "bernoulli", "p": 0.05}
    assert plan["seed"] == 3 and plan["warnings"] == []


def test_unknown_words_fall_back_with_warnings() -> None:
    plan = plan_from_description("250 widgets with weight and favourite spaceship", seed=0)
    cols = _cols(plan)
    assert cols["favourite_spaceship"]["generator"] == "words"
    assert cols["weight"]["type"] == "float"
    assert any("widgets" in w for w in plan["warnings"])
    assert any("favourite spaceship" in w for w in plan["warnings"])


def test_parent_child_with_per_parent_counts() -> None:
    plan = plan_from_description(
        "500 sensors each with about 100 readings with timestamp, temperature and pressure", seed=0)
    sensors, readings = plan["schema"]["tables"]
    assert sensors["rows"] == 500
    assert readings["rows_per_parent"] == {"parent": "sensors", "distribution": "poisson", "lam": 100.0}
    cols = _cols(plan, 1)
    assert cols["sensor_id"] == {"name": "sensor_id", "generator": "foreign_key", "references": "sensors.id"}
    assert {"timestamp", "temperature", "pressure"} <= set(cols)
    rows = preview(plan["schema"], 5, seed=0)
    assert rows["readings"][0]["sensor_id"] == 1


def test_range_per_parent_and_related_tables() -> None:
    plan = plan_from_description("1000 customers and 1-5 orders per customer; 200 tickets", seed=0)
    _, orders, tickets = plan["schema"]["tables"]
    assert orders["rows_per_parent"] == {"parent": "customers", "distribution": "uniform", "min": 1, "max": 5}
    assert tickets["rows"] == 200
    assert _cols(plan, 2)["customer_id"]["references"] == "customers.id"


def test_missing_values_years_and_orderings() -> None:
    plan = plan_from_description(
        "2000 orders with order date, ship date and amount between 2021 and 2022, 10% missing amount", seed=0)
    cols = _cols(plan)
    assert cols["order_date"]["min"] == "2021-01-01" and cols["order_date"]["max"] == "2022-12-31"
    assert cols["amount"]["nullable"] == 0.1
    assert cols["ship_date"] == {"name": "ship_date", "type": "date"}
    assert plan["schema"]["tables"][0]["constraints"] == [
        {"type": "less_than", "left": "order_date", "right": "ship_date"}]


def test_no_count_and_no_entity() -> None:
    plan = plan_from_description("customers with name and email", seed=0)
    assert plan["schema"]["tables"][0]["rows"] == 1_000
    assert any("no row count" in w for w in plan["warnings"])
    plan = plan_from_description("something vague", seed=0)
    assert plan["schema"]["tables"][0]["name"] == "records"
    validate_schema(plan["schema"])


def test_entity_defaults_and_determinism() -> None:
    a = plan_from_description("300 employees", seed=9)
    assert list(_cols(a)) == ["id", "name", "email", "salary", "join_date"]
    assert a == plan_from_description("300 employees", seed=9)


@pytest.mark.parametrize("text", [
    "", "!!!", "50% of them are premium", "100 orders with status", "5 patients, 3% missing phone",
    "12 machines each with up to 40 events", "10 customers with 10 orders each and 5% fraud",
    "9999999999999 logs", "in 2023 there were 4 invoices with total and currency",
])
def test_any_text_gives_a_valid_schema(text: str) -> None:
    plan = plan_from_description(text, seed=0)
    validate_schema(plan["schema"])
    preview(plan["schema"], 3, seed=0)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="string"):
        plan_from_description(None, 0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="10,000"):
        plan_from_description("x" * 10_001, 0)


def test_parse_helpers() -> None:
    assert [t.value for t in tokenize("10k 1.5 million 2,000") if t.kind == "num"] == [10_000, 1_500_000, 2_000]
    assert [singular(w) for w in ("customers", "companies", "addresses", "people", "boxes")] == [
        "customer", "company", "address", "person", "box"]
    assert snake("Signup Date!") == "signup_date" and snake("3rd party") == "c_3rd_party"


def test_head_noun_and_percent_before_count() -> None:
    plan = plan_from_description("5000 sensor readings with temperature since 2022", seed=0)
    table = plan["schema"]["tables"][0]
    assert table["name"] == "readings" and table["rows"] == 5_000
    assert _cols(plan)["temperature"]["generator"] == "normal"
    plan = plan_from_description("20% of customers are premium, 1000 customers with email", seed=0)
    assert [t["name"] for t in plan["schema"]["tables"]] == ["customers"]
    assert list(_cols(plan)) == ["id", "email", "premium"] and plan["warnings"] == []


def test_head_noun_without_a_count() -> None:
    """The published SDK's example gives rows apart from the text: the head noun names the table."""
    plan = plan_from_description("customer transaction records", seed=0)
    assert [t["name"] for t in plan["schema"]["tables"]] == ["transactions"]
    assert {"timestamp", "amount", "currency"} <= set(_cols(plan))
    plan = plan_from_description("sensor readings with temperature", seed=0)
    assert [t["name"] for t in plan["schema"]["tables"]] == ["readings"]
    plan = plan_from_description("transactions of customers", seed=0)
    assert [t["name"] for t in plan["schema"]["tables"]] == ["transactions"]


def test_up_to_children() -> None:
    plan = plan_from_description("12 machines each with up to 40 events", seed=0)
    _, events = plan["schema"]["tables"]
    assert "up_to" not in _cols(plan)
    assert events["rows_per_parent"] == {"parent": "machines", "distribution": "uniform", "min": 0, "max": 40}

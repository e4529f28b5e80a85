"""The generate pages: mock rows from a sentence or a schema (the plan shown and editable, a sample
previewed, before anything runs), a scenario builder (plant, duration, attack mix) whose result
draws the telemetry with each attack's window, and synthesis from a dataset with its quality and
privacy report drawn as charts.

Every run is an ordinary job submitted through the job engine, exactly as ``POST /v1/jobs`` would
submit it, so its page, its seal and its rerun are the jobs pages'. Planning and previewing store
nothing and charge nothing, so they need only ``read``, as the API's plan and preview routes do.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response, jsonify, redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from appliance import errors
from appliance.api import context
from appliance.api.extensions import accepts_body, requires
from appliance.jobs import lifecycle, operations
from appliance.services import mock_datasets, results_view
from appliance.services.datasets import ingest
from appliance.web import charts
from appliance.web.blueprint import blp, page

MOCK_FORMATS = ("csv", "jsonl", "parquet")
SYNTH_FORMATS = ("csv", "parquet")
SYNTHESIZERS = ("gaussian_copula", "ctgan", "tvae", "copulagan", "par", "regime_var")
SYNTHESIZER_HINTS = {
    "gaussian_copula": "rows independent, fast; the row mix, not the order",
    "ctgan": "neural (GAN), for large tables with complex columns",
    "tvae": "neural (autoencoder), for large tables",
    "copulagan": "GaussianCopula marginals with a GAN",
    "par": "time series: SDV's LSTM, slow to train; needs the time column",
    "regime_var": "time series and plant telemetry: seconds to fit, follows the day's clock; needs the time column",
}
SEQUENCE_SYNTHESIZERS = ("par", "regime_var")
PREVIEW_ROWS = 10
SCHEMA_CHARS = 200_000
MAX_SEED = 2**63 - 1
MAX_ATTACKS_PER_TECHNIQUE = 20
MAX_FORM_COLUMNS = 20
FORM_ROWS = 6
EXAMPLE_SCHEMA: dict[str, Any] = {
    "tables": [
        {
            "name": "readings",
            "rows": 1000,
            "columns": [
                {"name": "id", "type": "int", "generator": "sequence"},
                {"name": "flow", "type": "float", "generator": "normal", "mean": 10, "std": 2},
                {"name": "site", "type": "string", "generator": "category", "categories": ["north", "south"]},
            ],
        }
    ]
}


def _int(name: str, default: int, low: int, high: int) -> int:
    raw = request.form.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise errors.validation(name, "a whole number") from None
    if not low <= value <= high:
        raise errors.validation(name, f"between {low:,} and {high:,}")
    return value


def _float(name: str, default: float, low: float, high: float) -> float:
    raw = request.form.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise errors.validation(name, "a number") from None
    if not low <= value <= high:  # also refuses NaN
        raise errors.validation(name, f"between {low:g} and {high:g}")
    return value


def _choice(name: str, options: tuple[str, ...], default: str) -> str:
    value = request.form.get(name, "") or default
    if value not in options:
        raise errors.validation(name, f"one of {', '.join(options)}")
    return value


def _schema() -> dict[str, Any]:
    text = request.form.get("schema", "")
    if not text.strip():
        raise errors.validation("schema", "the schema is empty")
    if len(text) > SCHEMA_CHARS:
        raise errors.validation("schema", f"at most {SCHEMA_CHARS:,} characters")
    try:
        schema = json.loads(text)
    except ValueError as exc:
        raise errors.validation("schema", f"not JSON: {exc}") from None
    if not isinstance(schema, dict):
        raise errors.validation("schema", "a JSON object with `tables`")
    return schema


def _description() -> str:
    text = request.form.get("description", "").strip()
    if len(text) > 2000:
        raise errors.validation("description", "at most 2,000 characters")
    return text


def _submit(body: dict[str, Any]) -> dict[str, Any]:
    who = context.principal()
    cfg = context.config()["jobs"]
    return operations.submit(
        context.get_db(), context.state_dir(), who.tenant_id, who.caller, body, int(cfg["max_attempts"]),
        interactive_max_rows=int(cfg["interactive_max_rows"]),
    )


# --- mock ----------------------------------------------------------------------------------------


@blp.route("/generate/mock")
@requires("read")
def mock_form() -> str:
    """Describe the data in a sentence, fill in a column form, or start from the example schema; all
    three lead to the same editor."""
    return page(
        "generate_mock.html", plan=None, schema_text=json.dumps(EXAMPLE_SCHEMA, indent=2), description="",
        seed=0, formats=MOCK_FORMATS, vocabulary=mock_datasets.vocabulary(), form_rows=FORM_ROWS,
    )


def _form_value(text: str) -> Any:
    """A parameter value typed in the form: a number when it reads as one, a list when it has
    ``|`` (categories, weights), else the text."""
    if "|" in text:
        return [_form_value(part.strip()) for part in text.split("|")]
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def _form_params(text: str, field: str) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for pair in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise errors.validation(field, f"{pair!r} is not key=value (e.g. mean=10, std=2 or categories=a|b|c)")
        params[key.strip()] = _form_value(value.strip())
    return params


def _form_schema() -> dict[str, Any]:
    """The schema the column form describes: one table, one column per filled row."""
    names, types = request.form.getlist("col_name"), request.form.getlist("col_type")
    generators, params = request.form.getlist("col_generator"), request.form.getlist("col_params")
    if not len(names) == len(types) == len(generators) == len(params) or len(names) > MAX_FORM_COLUMNS:
        raise errors.validation("col_name", f"at most {MAX_FORM_COLUMNS} rows, each with a type, generator, parameters")
    columns = []
    for i, (name, ctype, generator, extra) in enumerate(zip(names, types, generators, params, strict=True)):
        if not name.strip():
            continue
        column = {"name": name.strip(), "type": ctype, "generator": generator}
        columns.append(column | _form_params(extra, f"col_params[{i}]"))
    if not columns:
        raise errors.validation("col_name", "name at least one column")
    table = request.form.get("table", "").strip() or "rows"
    return {"tables": [{"name": table, "rows": _int("rows", 1000, 1, 10_000_000), "columns": columns}]}


@blp.route("/generate/mock/form", methods=["POST"])
@requires("read")
@accepts_body("form")
def mock_from_form() -> str:
    """The schema a column form describes, checked by the mock engine, into the editor."""
    schema = _form_schema()
    mock_datasets.sample(schema, 1, 0)  # the engine's own check: a bad column is a 400 naming it
    return page(
        "_mock_editor.html", plan=None, schema_text=json.dumps(schema, indent=2), description="", seed=0,
        formats=MOCK_FORMATS,
    )


@blp.route("/generate/mock/plan", methods=["POST"])
@requires("read")
@accepts_body("form")
def mock_plan() -> str:
    """The plan of a sentence, as ``POST /v1/fabricate/plan`` makes it: the schema to edit, what
    each phrase became, and the words it did not know."""
    from appliance.services.fabricate import plan_from_description

    description = _description()
    if len(description) < 3:
        raise errors.validation("description", "describe the data in at least a few words")
    seed = _int("seed", 0, 0, MAX_SEED)
    try:
        plan = plan_from_description(description, seed)
    except ValueError as exc:
        raise errors.validation("description", str(exc)) from exc
    return page(
        "_mock_editor.html", plan=plan, schema_text=json.dumps(plan["schema"], indent=2), description=description,
        seed=seed, formats=MOCK_FORMATS,
    )


@blp.route("/generate/mock/preview", methods=["POST"])
@requires("read")
@accepts_body("form")
def mock_preview() -> str:
    """The first rows the edited schema gives (exactly the job's first rows with this seed)."""
    sample = mock_datasets.sample(_schema(), PREVIEW_ROWS, _int("seed", 0, 0, MAX_SEED))
    return page("_mock_preview.html", tables=sample["tables"])


@blp.route("/generate/mock", methods=["POST"])
@requires("generate")
@accepts_body("form")
def mock_run() -> BaseResponse:
    """Run the edited schema as a `mock` job. From a sentence, the job carries the sentence and
    its plan with the edited schema, so the contract seals what was asked and what was run."""
    from appliance.services.fabricate import plan_from_description

    schema, seed = _schema(), _int("seed", 0, 0, MAX_SEED)
    fmt = _choice("format", MOCK_FORMATS, "csv")
    description = _description()
    params: dict[str, Any] = {"schema": schema, "format": fmt}
    if description:
        try:
            plan = plan_from_description(description, seed)
        except ValueError as exc:
            raise errors.validation("description", str(exc)) from exc
        params = {"description": description, "plan": {**plan, "schema": schema}, "format": fmt}
    job = _submit({"kind": "mock", "seed": seed, "params": params})
    return redirect(url_for("ui.job", job_id=job["id"]), code=303)


# --- scenarios -----------------------------------------------------------------------------------


def _catalogue() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    from simulators.attacks.techniques import catalogue
    from simulators.plants.registry import list_plants

    return list_plants(), catalogue()


@blp.route("/generate/scenario")
@requires("read")
def scenario_form() -> str:
    """Pick a plant, a duration and how many attacks of each technique to mix in."""
    plants, techniques = _catalogue()
    return page("generate_scenario.html", plants=plants, techniques=techniques)


@blp.route("/generate/scenario", methods=["POST"])
@requires("generate")
@accepts_body("form")
def scenario_run() -> BaseResponse:
    """A `scenario_fabricate` job: the simulators plan the attacks over the run from the seed; with
    no attack chosen, a `simulate` job of normal operation."""
    plants, techniques = _catalogue()
    plant = _choice("plant", tuple(p["name"] for p in plants), plants[0]["name"])
    mix = []
    for technique in techniques:
        count = _int(f"count_{technique['key']}", 0, 0, MAX_ATTACKS_PER_TECHNIQUE)
        if count:
            mix.append({"technique": technique["key"], "count": count})
    params: dict[str, Any] = {
        "plant": plant,
        "duration": _float("duration", 3600.0, 1.0, 366 * 86400.0),
        "sample_rate": _float("sample_rate", 1.0, 0.001, 100.0),
        "format": "csv",
    }
    intensity = _float("intensity", 0.5, 0.0, 1.0)
    # No attack asked for: a normal-operation run (the baseline a detector trains on), not a refusal.
    kind = "scenario_fabricate" if mix else "simulate"
    if mix:
        params |= {"intensity": intensity, "mix": mix}
    job = _submit({"kind": kind, "seed": _int("seed", 0, 0, MAX_SEED), "params": params})
    return redirect(url_for("ui.scenario_result", job_id=job["id"]), code=303)


def _result_job(job_id: str, kinds: tuple[str, ...]) -> dict[str, Any]:
    row = operations.require_job(context.get_db(), context.principal().tenant_id, job_id)
    if row["kind"] not in kinds:
        raise errors.not_found("job", job_id)
    return operations.view(row)


@blp.route("/generate/scenario/<string:job_id>")
@requires("read")
def scenario_result(job_id: str) -> str:
    """The run's telemetry with every attack as a labelled band; while the job runs, the page
    follows it and reloads itself when it ends."""
    job = _result_job(job_id, results_view.SCENARIO_KINDS)
    attacks: list[dict[str, Any]] = []
    if job["status"] == "succeeded":
        tenant_id = context.principal().tenant_id
        attacks = results_view.scenario_attacks(context.get_db(), context.state_dir(), tenant_id, job_id)
    return page("scenario_result.html", job=job, attacks=attacks, terminal=job["status"] in lifecycle.TERMINAL)


@blp.route("/generate/scenario/<string:job_id>/series")
@requires("read")
def scenario_series(job_id: str) -> Response:
    """The chart's data (JSON): decimated pens and the attack windows; ``?pen=`` picks tags."""
    pens = request.args.getlist("pen")
    if len(pens) > results_view.MAX_PENS:
        raise errors.validation("pen", f"at most {results_view.MAX_PENS} pens")
    return jsonify(
        results_view.scenario_series(context.get_db(), context.state_dir(), context.principal().tenant_id, job_id, pens)
    )


# --- synthesis -----------------------------------------------------------------------------------


@blp.route("/generate/synthesize")
@requires("read")
def synthesize_form() -> str:
    """Train a synthesizer on one of the tenant's datasets and sample rows from it, in one job."""
    listing = ingest.listing(context.get_db(), context.principal().tenant_id, 200, None)
    return page(
        "generate_synthesize.html", datasets=listing["data"], chosen=request.args.get("dataset", ""),
        synthesizers=SYNTHESIZERS, hints=SYNTHESIZER_HINTS, formats=SYNTH_FORMATS,
    )


@blp.route("/generate/synthesize", methods=["POST"])
@requires("generate")
@accepts_body("form")
def synthesize_run() -> BaseResponse:
    dataset_id = request.form.get("dataset", "")
    if not dataset_id:
        raise errors.validation("dataset", "choose a dataset to learn from")
    ingest.require(context.get_db(), context.principal().tenant_id, dataset_id)
    params: dict[str, Any] = {
        "synthesizer": _choice("synthesizer", SYNTHESIZERS, "gaussian_copula"),
        "rows": _int("rows", 1000, 1, 10_000_000),
        "format": _choice("format", SYNTH_FORMATS, "csv"),
    }
    epochs = request.form.get("epochs", "").strip()
    if epochs:
        params["epochs"] = _int("epochs", 1, 1, 10_000)
    index = request.form.get("sequence_index", "").strip()
    if index and params["synthesizer"] not in SEQUENCE_SYNTHESIZERS:
        raise errors.validation("sequence_index", f"only with {' or '.join(SEQUENCE_SYNTHESIZERS)}")
    if index:
        params["sequence_index"] = index
    seed = _int("seed", 0, 0, MAX_SEED)
    job = _submit({"kind": "synthesize", "inputs": [dataset_id], "seed": seed, "params": params})
    return redirect(url_for("ui.synthesize_result", job_id=job["id"]), code=303)


def report_charts(report: dict[str, Any]) -> dict[str, Any]:
    """The report's numbers as charts: per-column shape scores, the properties (shapes, pair
    trends) and the DCR of the synthetic rows beside the holdout baseline."""
    quality = report.get("quality") or {}
    columns = [(c["column"], c["score"]) for c in quality.get("columns") or []]
    properties = [(k.replace("_", " "), v) for k, v in quality.items() if k not in ("score", "columns", "error")]
    out: dict[str, Any] = {
        "columns": charts.horizontal("Column shape score per column (1 is best)", columns, 1.0) if columns else None,
        "properties": charts.horizontal("Quality properties", properties, 1.0) if properties else None,
        "dcr": None,
    }
    dcr = ((report.get("privacy") or {}).get("dcr")) or {}
    synthetic, holdout = dcr.get("synthetic_to_train") or {}, dcr.get("holdout_to_train") or {}
    if synthetic:
        items: list[tuple[str, float | None]] = []
        for stat in ("p05", "median", "mean"):
            items.append((f"synthetic {stat}", synthetic.get(stat)))
            if holdout:
                items.append((f"holdout {stat}", holdout.get(stat)))
        out["dcr"] = charts.horizontal("Distance to the closest training row (DCR)", items)
    return out


@blp.route("/generate/synthesize/<string:job_id>")
@requires("read")
def synthesize_result(job_id: str) -> str:
    """The job's quality and privacy report as charts, once it has succeeded."""
    job = _result_job(job_id, ("synthesize",))
    report = None
    drawn: dict[str, Any] = {}
    if job["status"] == "succeeded":
        tenant_id = context.principal().tenant_id
        report = results_view.synthesis_report(context.get_db(), context.state_dir(), tenant_id, job_id)
        drawn = report_charts(report)
    return page(
        "synthesize_result.html", job=job, report=report, charts=drawn, terminal=job["status"] in lifecycle.TERMINAL
    )

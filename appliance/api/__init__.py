"""The Flask application: ``create_app(config)``.

Blueprints are listed once in ``BLUEPRINTS``; each resource lives in its own folder with
``routes.py`` and ``schemas.py``. Heavy libraries (torch, SDV, pandas) are not imported here.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Flask

from appliance import __version__, web
from appliance.api import aliases, context, docs_assets, envelope, pipeline
from appliance.api.artifacts.routes import blp as artifacts_blp
from appliance.api.auth.routes import blp as auth_blp
from appliance.api.billing.routes import blp as billing_blp
from appliance.api.connectors.routes import blp as connectors_blp
from appliance.api.datasets.routes import blp as datasets_blp
from appliance.api.evaluations.routes import blp as evaluations_blp
from appliance.api.evidence.routes import blp as evidence_blp
from appliance.api.extensions import Api
from appliance.api.fits.routes import blp as fits_blp
from appliance.api.generate.routes import blp as generate_blp
from appliance.api.ics.routes import blp as ics_blp
from appliance.api.jobs.routes import blp as jobs_blp
from appliance.api.jsonprovider import FiniteJSONProvider
from appliance.api.keys.routes import blp as keys_blp
from appliance.api.leaderboards.routes import blp as leaderboards_blp
from appliance.api.meta.routes import blp as meta_blp
from appliance.api.models.routes import blp as models_blp
from appliance.api.routing import LazyBuilderRule
from appliance.api.scada.routes import blp as scada_blp
from appliance.api.seals.routes import blp as seals_blp
from appliance.api.system.routes import blp as system_blp
from appliance.api.tenants.routes import blp as tenants_blp
from appliance.api.users.routes import blp as users_blp
from appliance.api.webhooks.routes import blp as webhooks_blp
from appliance.api.witnesses.routes import blp as witnesses_blp
from appliance.config import api_workers, load_config, state_dir
from appliance.jobs.fanout import Hub, Limits
from appliance.store.open import open_pool

BLUEPRINTS = (
    meta_blp,
    auth_blp,
    tenants_blp,
    keys_blp,
    users_blp,
    jobs_blp,
    artifacts_blp,
    billing_blp,
    datasets_blp,
    generate_blp,
    fits_blp,
    ics_blp,
    scada_blp,
    seals_blp,
    witnesses_blp,
    evidence_blp,
    models_blp,
    evaluations_blp,
    leaderboards_blp,
    webhooks_blp,
    connectors_blp,
    system_blp,
)

API_DESCRIPTION = """Sealforge appliance API.

Authenticate with `X-API-Key: sl_live_…` or `Authorization: Bearer <JWT>` (from POST /v1/auth/login).
Scopes: `read`, `generate`, `admin`, `operator` (each implies the ones before it). `operator` grants
credits (POST /v1/billing/topup); only the appliance's admin CLI can give it, never the API.
Every `/v1/<resource>` route also answers under `/v1/client/<resource>`.
Errors always use the envelope `{"error": {code, message, status, hint, correlation_id, details}}`;
see GET /v1/errors. POSTs accept `Idempotency-Key` (or `X-Idempotency-Key`), kept for 24 h.
"""


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app. ``config`` is a nested dict of overrides on top of the layered config."""
    cfg = load_config(overrides=config)
    app = Flask("sealforge", static_folder=None)
    app.url_rule_class = LazyBuilderRule  # builders compiled on first url_for, not at boot
    app.config.update(
        SEALFORGE=cfg,
        API_TITLE="Sealforge",
        API_VERSION=__version__,
        OPENAPI_VERSION="3.1.0",
        JSON_SORT_KEYS=False,
        MAX_CONTENT_LENGTH=None,
        API_SPEC_OPTIONS={
            "info": {"description": API_DESCRIPTION},
            "components": {
                "securitySchemes": {
                    "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                    "Bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                }
            },
        },
    )
    app.json = FiniteJSONProvider(app)  # never bare NaN/Infinity; keys keep their order
    docs_assets.configure(app)
    api = Api(app)
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
    web.register(app)  # the browser UI at /: pages, not API operations, so outside the OpenAPI document
    aliases.add_client_aliases(app)
    envelope.register(app)
    pipeline.install(app)
    app.extensions["sealforge_db_pool"] = open_pool(state_dir(cfg))  # migrates at start-up, not on a request
    app.teardown_appcontext(context.give_back_db)
    app.extensions["sealforge_api"] = api
    app.extensions["sealforge_streams"] = _streams_hub(cfg)
    logging.getLogger("sealforge").setLevel(logging.INFO)
    return app


def _streams_hub(cfg: dict[str, Any]) -> Hub:
    """The event-stream hub of this process, with its share of the appliance-wide stream limits."""
    workers = api_workers(cfg)

    def share(limit: Any) -> int:
        return max(1, -(-int(limit) // workers))

    limits = Limits(total=share(cfg["streams"]["max_open"]), per_tenant=share(cfg["streams"]["per_tenant"]))
    return Hub(state_dir(cfg), limits)


def openapi_document(app: Flask) -> str:
    """The spec as committed in openapi.json: sorted keys, two-space indent, trailing newline."""
    api: Api = app.extensions["sealforge_api"]
    return json.dumps(api.spec.to_dict(), indent=2, sort_keys=True) + "\n"

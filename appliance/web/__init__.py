"""The web UI for plant engineers (issue #17): server-rendered pages on the same services as the
API, served by the appliance itself with every asset vendored (``static/vendor/VENDORED.md``).

It sits at the API's layer (``appliance.web`` → jobs → kinds → services → store) and never reads
the store. One blueprint, ``ui``, holds the pages; ``register`` adds it to the app. docs/ui.md
describes sessions, CSRF and scopes.
"""

from __future__ import annotations

from flask import Flask

from appliance.web import (
    admin,
    admin_records,
    alarms,
    auth,
    datasets,
    evidence,
    generate,
    jobs,
    overview,
    plant,
    setup,
)
from appliance.web.blueprint import blp

PAGES = (overview, jobs, evidence, admin, auth, plant, alarms, datasets, generate, admin_records, setup)
"""The modules whose routes the blueprint holds (imported for that)."""


def register(app: Flask) -> None:
    app.register_blueprint(blp)

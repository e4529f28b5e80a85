"""The evidence pages: the seals list, and one job's seal with its inclusion proof, the signed
checkpoint, the bundle download, the exact ``sealforge-verify`` command an auditor runs, and a
button that runs the `verify` kind on the appliance (its job page then shows each check).
"""

from __future__ import annotations

from flask import Response, redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from appliance import errors
from appliance.api import context
from appliance.api.extensions import DEFAULT_PAGE_LIMIT, accepts_body, requires
from appliance.evidence import keys, operations
from appliance.jobs import operations as job_operations
from appliance.web.blueprint import blp, page

TRUST_FILE_NAME = "sealforge-trust.txt"
_CURSOR_MAX = 64


@blp.route("/evidence")
@requires("read")
def evidence() -> str:
    """The tenant's seals, oldest first as the API lists them, with the log's latest checkpoint."""
    after = request.args.get("after") or None
    if after is not None and len(after) > _CURSOR_MAX:
        raise errors.validation("after", f"at most {_CURSOR_MAX} characters")
    conn = context.get_db()
    listing = operations.list_seals(conn, context.principal().tenant_id, None, DEFAULT_PAGE_LIMIT, after)
    checkpoint = operations.checkpoint_view(conn) if listing["data"] else None
    return page("evidence.html", listing=listing, checkpoint=checkpoint)


@blp.route("/evidence/<string:job_id>")
@requires("read")
def job_evidence(job_id: str) -> str:
    """One job's seal: what its bundle proves, how to download it and how to verify it offline."""
    found = operations.job_evidence(context.get_db(), context.principal().tenant_id, job_id)
    return page("seal.html", job_id=job_id, trust_file_name=TRUST_FILE_NAME, **found)


@blp.route("/evidence/trust-file")
@requires("read")
def trust_file() -> Response:
    """The signing keys as a trust file for ``sealforge-verify --trust`` (the API serves the same
    text as ``trust_file`` in ``GET /v1/keys/signing``)."""
    text = keys.trust_file(context.get_db())
    if not text:
        raise errors.AppError(errors.NOT_FOUND, "the appliance has not sealed anything yet, so it has no signing key")
    return Response(
        text,
        mimetype="text/plain",
        headers={"Content-Disposition": f'attachment; filename="{TRUST_FILE_NAME}"'},
    )


@blp.route("/evidence/<string:job_id>/verify", methods=["POST"])
@requires("generate")
@accepts_body("form")
def verify_job_evidence(job_id: str) -> BaseResponse:
    """Submit a `verify` job on this job's evidence (the offline verifier's checks, run here and
    sealed like any result) and open its page, which follows it live."""
    operations.require_sealed_job(context.get_db(), context.principal().tenant_id, job_id)
    who = context.principal()
    cfg = context.config()["jobs"]
    job = job_operations.submit(
        context.get_db(), context.state_dir(), who.tenant_id, who.caller,
        {"kind": "verify", "params": {"job_id": job_id}}, int(cfg["max_attempts"]),
        interactive_max_rows=int(cfg["interactive_max_rows"]),
    )
    return redirect(url_for("ui.job", job_id=job["id"]), code=303)

"""`sealforge admin …`: tenants, keys, witnesses, users, the audit chain and blob gc, straight on the state dir."""

from __future__ import annotations

import sys

import click

from appliance.cli.output import cli_errors, emit, resolve_config, state_dir_option, state_path
from appliance.evidence import keys as signing
from appliance.evidence import witnessing
from appliance.services import audit, identity, tls
from appliance.store import identity as identity_store
from appliance.store.open import open_db


@click.group()
def admin() -> None:
    """Administration that works without the API running."""


@admin.command()
@state_dir_option
def bootstrap(state_dir: str | None) -> None:
    """Create the first tenant and an admin key (safe to run again: same answer), and the API's
    TLS certificate, whose SHA-256 fingerprint clients pin (`tls_fingerprint`; null with tls = "off")."""
    cfg = resolve_config(state_dir)
    with cli_errors():
        conn = open_db(state_path(cfg))
        result = identity.bootstrap(conn, state_path(cfg) / "keys")
        signing.ensure_signing_key(conn, state_path(cfg) / "keys")
        certificate = tls.prepare(cfg)
    emit(
        {
            "tenant_id": result["tenant_id"],
            "api_key": result["api_key"],
            "tls_fingerprint": certificate.fingerprint if certificate else None,
        }
    )


@admin.group()
def tenants() -> None:
    """Tenants."""


@tenants.command("create")
@click.argument("name")
@click.option("--credits", type=click.FloatRange(min=0), default=0, show_default=True)
@click.option(
    "--tier", type=click.Choice(identity.TIERS), default="standard", show_default=True,
    help="`free` runs all the tenant's jobs on the lower-priority `free` queue (see `set-tier`).",
)
@state_dir_option
def tenants_create(name: str, credits: float, tier: str, state_dir: str | None) -> None:
    """Create a tenant."""
    cfg = resolve_config(state_dir)
    with cli_errors():
        emit(identity.public_tenant_row(identity.create_tenant(open_db(state_path(cfg)), name, credits, tier)))


@tenants.command("set-tier")
@click.argument("tenant_id")
@click.argument("tier", type=click.Choice(identity.TIERS))
@state_dir_option
def tenants_set_tier(tenant_id: str, tier: str, state_dir: str | None) -> None:
    """Set a tenant's tier: `free` runs all its jobs on the lower-priority `free` queue."""
    cfg = resolve_config(state_dir)
    with cli_errors():
        emit(identity.public_tenant_row(identity.set_tier(open_db(state_path(cfg)), tenant_id, tier)))


@tenants.command("list")
@state_dir_option
def tenants_list(state_dir: str | None) -> None:
    """List tenants."""
    cfg = resolve_config(state_dir)
    emit([identity.public_tenant_row(r) for r in identity_store.all_tenants(open_db(state_path(cfg)))])


@admin.group()
def keys() -> None:
    """API keys."""


@keys.command("create")
@click.option("--tenant", "tenant_id", required=True, help="Tenant id (ten_…).")
@click.option("--scopes", required=True, help="Comma-separated: read,generate,admin,operator.")
@click.option("--name", default="", help="A label to recognise the key by.")
@state_dir_option
def keys_create(tenant_id: str, scopes: str, name: str, state_dir: str | None) -> None:
    """Create a key; its plaintext is printed once.

    `operator` (admin plus granting credits with POST /v1/billing/topup) can only be given here."""
    cfg = resolve_config(state_dir)
    with cli_errors():
        emit(identity.create_key(open_db(state_path(cfg)), tenant_id, scopes, name, allow_operator=True))


@keys.command("list")
@click.option("--tenant", "tenant_id", required=True)
@state_dir_option
def keys_list(tenant_id: str, state_dir: str | None) -> None:
    """List a tenant's keys (never their secrets)."""
    cfg = resolve_config(state_dir)
    with cli_errors():
        conn = open_db(state_path(cfg))
        identity.require_tenant(conn, tenant_id)
        emit(identity.list_keys(conn, tenant_id))


@keys.command("revoke")
@click.argument("key_id")
@click.option("--tenant", "tenant_id", required=True)
@state_dir_option
def keys_revoke(key_id: str, tenant_id: str, state_dir: str | None) -> None:
    """Revoke a key at once."""
    cfg = resolve_config(state_dir)
    with cli_errors():
        emit(identity.revoke_key(open_db(state_path(cfg)), tenant_id, key_id))


@keys.command("rotate-signing")
@state_dir_option
def keys_rotate_signing(state_dir: str | None) -> None:
    """Make a new seal-signing key; the old one is retired (its public key stays listed, so the
    bundles it signed still verify) and its private key file is deleted."""
    cfg = resolve_config(state_dir)
    with cli_errors():
        emit(signing.rotate(open_db(state_path(cfg)), state_path(cfg) / "keys"))


@keys.command("signing")
@click.option(
    "--trust-file",
    is_flag=True,
    help="Print the keys as a trust file for sealforge-verify, each with its fingerprint (the trust anchor "
    "to hand an auditor on paper or USB).",
)
@state_dir_option
def keys_signing(trust_file: bool, state_dir: str | None) -> None:
    """List the seal-signing public keys (active and retired) with their SHA-256 fingerprints."""
    cfg = resolve_config(state_dir)
    conn = open_db(state_path(cfg))
    if trust_file:
        click.echo(signing.trust_file(conn), nl=False)
    else:
        emit(signing.list_with_fingerprints(conn))


@admin.group()
def witnesses() -> None:
    """Witnesses whose cosignatures of the seal log's checkpoints the appliance accepts and serves."""


@witnesses.command("add")
@click.argument("verifier_key")
@click.option("--description", default="", help="Who runs the witness, for the list.")
@state_dir_option
def witnesses_add(verifier_key: str, description: str, state_dir: str | None) -> None:
    """Register a witness by its vkey (`sealforge-verify witness keygen` prints it)."""
    cfg = resolve_config(state_dir)
    with cli_errors():
        emit(witnessing.register_witness(open_db(state_path(cfg)), verifier_key, description))


@witnesses.command("remove")
@click.argument("key_id")
@state_dir_option
def witnesses_remove(key_id: str, state_dir: str | None) -> None:
    """Remove a witness by its `name+keyid`; its stored cosignatures are deleted with it."""
    cfg = resolve_config(state_dir)
    with cli_errors():
        emit(witnessing.remove_witness(open_db(state_path(cfg)), key_id))


@witnesses.command("list")
@state_dir_option
def witnesses_list(state_dir: str | None) -> None:
    """The registered witnesses."""
    cfg = resolve_config(state_dir)
    emit(witnessing.list_witnesses(open_db(state_path(cfg))))


@admin.group()
def users() -> None:
    """Users who log in with a password."""


@users.command("create")
@click.option("--tenant", "tenant_id", required=True)
@click.option("--email", required=True)
@click.option("--scopes", required=True, help="Comma-separated: read,generate,admin,operator.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@state_dir_option
def users_create(tenant_id: str, email: str, scopes: str, password_stdin: bool, state_dir: str | None) -> None:
    """Create a user (the password is read from stdin or prompted for, never an argument)."""
    cfg = resolve_config(state_dir)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with cli_errors():
        emit(identity.create_user(open_db(state_path(cfg)), tenant_id, email, password, scopes, allow_operator=True))


@users.command("set-password")
@click.option("--email", required=True)
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input.")
@state_dir_option
def users_set_password(email: str, password_stdin: bool, state_dir: str | None) -> None:
    """Give a user a new password and end its sessions (refresh tokens are revoked)."""
    cfg = resolve_config(state_dir)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    with cli_errors():
        emit(identity.set_password(open_db(state_path(cfg)), email, password))


@admin.group()
def logins() -> None:
    """The back-off after failed password logins (API and OPC UA)."""


@logins.command("unblock")
@click.option("--email", default="", help="The account to clear.")
@click.option("--source", default="", help="The client address to clear.")
@state_dir_option
def logins_unblock(email: str, source: str, state_dir: str | None) -> None:
    """Let an account or address log in again at once, forgetting its failed logins."""
    from appliance.services.login_throttle import LoginThrottle

    if not (email.strip() or source.strip()):
        raise click.UsageError("give --email, --source or both")
    cfg = resolve_config(state_dir)
    with cli_errors():
        emit({"cleared": LoginThrottle(state_path(cfg), cfg["auth"]).unblock(email, source)})


@admin.group("audit")
def audit_group() -> None:
    """The hash-chained audit log."""


@audit_group.command("verify")
@state_dir_option
def audit_verify(state_dir: str | None) -> None:
    """Check every entry's hash and link; exit 1 at the first broken one."""
    cfg = resolve_config(state_dir)
    report = audit.verify_chain(open_db(state_path(cfg)))
    emit(report.as_dict())
    if not report.ok:
        sys.exit(1)


@admin.command("gc")
@state_dir_option
def gc(state_dir: str | None) -> None:
    """Remove crash leftovers and blobs nothing references; safe while the appliance runs.

    Exit 1 when a blob that a dataset or artifact references is missing.
    """
    from appliance.services.startup_cleanup import clean

    cfg = resolve_config(state_dir)
    report = clean(state_path(cfg))
    emit(report)
    if report["blobs"]["missing"]:
        sys.exit(1)


@admin.group("credits")
def credits_group() -> None:
    """Tenant credits (1 credit = 1,000,000 generated rows)."""


@credits_group.command("add")
@click.option("--tenant", "tenant_id", required=True)
@click.option("--credits", "amount", type=click.FloatRange(min=0, min_open=True), required=True)
@click.option("--note", default="", help="Why, for the ledger.")
@state_dir_option
def credits_add(tenant_id: str, amount: float, note: str, state_dir: str | None) -> None:
    """Top up a tenant's credits."""
    from appliance.services import credits

    cfg = resolve_config(state_dir)
    with cli_errors():
        emit(credits.top_up(open_db(state_path(cfg)), tenant_id, amount, note))


@admin.group("opcua")
def opcua_group() -> None:
    """The live runs' OPC UA servers."""


@opcua_group.group("certs")
def opcua_certs_group() -> None:
    """The trust list of OPC UA client certificates (<state dir>/pki/opcua)."""


@opcua_certs_group.command("list")
@click.option("--status", type=click.Choice(["trusted", "rejected", "issuer"]), default=None)
@state_dir_option
def opcua_certs_list(status: str | None, state_dir: str | None) -> None:
    """List trusted, issuer and rejected (presented, not yet approved) client certificates."""
    from appliance.services import opcua_certs

    cfg = resolve_config(state_dir)
    with cli_errors():
        emit(opcua_certs.list_certificates(state_path(cfg), status, limit=10_000)["data"])


@opcua_certs_group.command("trust")
@click.argument("thumbprint")
@state_dir_option
def opcua_certs_trust(thumbprint: str, state_dir: str | None) -> None:
    """Trust a client certificate by its SHA-1 thumbprint; running runs admit it from the next connection."""
    from appliance.services import opcua_certs

    cfg = resolve_config(state_dir)
    with cli_errors():
        emit(opcua_certs.set_status(state_path(cfg), thumbprint, "trusted"))


@opcua_certs_group.command("reject")
@click.argument("thumbprint")
@state_dir_option
def opcua_certs_reject(thumbprint: str, state_dir: str | None) -> None:
    """Stop trusting a client certificate; its next connection is refused."""
    from appliance.services import opcua_certs

    cfg = resolve_config(state_dir)
    with cli_errors():
        emit(opcua_certs.set_status(state_path(cfg), thumbprint, "rejected"))


@opcua_certs_group.command("remove")
@click.argument("thumbprint")
@state_dir_option
def opcua_certs_remove(thumbprint: str, state_dir: str | None) -> None:
    """Delete a certificate from the trust list."""
    from appliance.services import opcua_certs

    cfg = resolve_config(state_dir)
    with cli_errors():
        emit(opcua_certs.remove(state_path(cfg), thumbprint))

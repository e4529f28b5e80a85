"""POST/GET /v1/system/updates and POST /v1/system/reboot: an operator uploads a signed bundle, the
API checks it as it streams in and queues it; the root updater (run here on a disk-image file, as
sealforge-update.service runs it on the box) applies it and the API shows how it went."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import blake3
import pytest
from flask.testing import FlaskClient

from appliance.services import audit, identity
from appliance.services.system_update import inbox
from tests.conftest import auth
from tests.services.system_update.release import (
    bundle_tool,
    make_disk,
    make_esp,
    make_key,
    make_release,
    members,
    write_tar,
)

URL = "/v1/system/updates"
OCTETS = {"Content-Type": "application/octet-stream"}


@pytest.fixture
def image(tmp_path: Path) -> dict[str, Any]:
    """A release key and the running release's os-release, as the image has them."""
    private, public = make_key(tmp_path / "keys")
    os_release = tmp_path / "os-release"
    os_release.write_text('NAME="Debian GNU/Linux"\nIMAGE_ID=sealforge\nIMAGE_VERSION="v100"\nIMAGE_SERIAL=100\n')
    return {"private": private, "public": public, "os_release": os_release, "tmp": tmp_path}


@pytest.fixture
def app_config(app_config: dict[str, Any], image: dict[str, Any]) -> dict[str, Any]:
    app_config["image"] = {"release_key": str(image["public"]), "os_release": str(image["os_release"])}
    return app_config


@pytest.fixture
def operator(db: Any, tenant: dict[str, Any]) -> str:
    return str(identity.create_key(db, tenant["id"], ["operator"], allow_operator=True)["api_key"])


def _bundle(image: dict[str, Any], serial: int) -> Path:
    release = make_release(image["tmp"] / f"release-{serial}", serial, root_bytes=1 << 20)
    out = image["tmp"] / f"out-{serial}"
    out.mkdir()
    return Path(bundle_tool().build(release.folder, out, image["private"], None))


def _error(response: Any) -> str:
    return str(response.get_json()["error"]["code"])


def test_an_operator_uploads_a_bundle_and_it_is_queued(
    client: FlaskClient, operator: str, image: dict[str, Any], state_dir: Path, db: Any, tenant: dict[str, Any]
) -> None:
    bundle = _bundle(image, 200)
    response = client.post(f"{URL}?tries=2&reboot=true", data=bundle.read_bytes(), headers={**auth(operator), **OCTETS})
    assert response.status_code == 202, response.get_json()
    queued = response.get_json()
    assert queued["serial"] == 200 and queued["version"] == "v200" and queued["tries"] == 2 and queued["reboot"]
    assert queued["running_serial"] == 100 and queued["state"] == "queued"
    assert queued["blake3"] == blake3.blake3(bundle.read_bytes()).hexdigest()
    stored = state_dir / "updates/incoming" / queued["id"] / inbox.BUNDLE_NAME
    assert stored.read_bytes() == bundle.read_bytes()
    status = client.get(URL, headers=auth(operator)).get_json()
    assert status["running"] == {"serial": 100, "version": "v100"}
    assert [p["id"] for p in status["pending"]] == [queued["id"]]
    again = client.post(URL, data=bundle.read_bytes(), headers={**auth(operator), **OCTETS})
    assert again.status_code == 409 and _error(again) == "UPDATE_IN_PROGRESS"
    # Audited like every write: who, what, and the upload's BLAKE3.
    entries = audit.search(db, tenant["id"], "/v1/system/updates")["data"]
    assert [(e["method"], e["status"]) for e in entries] == [("POST", 409), ("POST", 202)]
    assert entries[1]["body_blake3"] == queued["blake3"] and entries[1]["scope"] == "operator"


def test_the_root_updater_applies_what_the_api_queued_and_the_api_shows_it(
    client: FlaskClient, operator: str, image: dict[str, Any], state_dir: Path
) -> None:
    running = make_release(image["tmp"] / "release-100", 100)
    disk = make_disk(image["tmp"] / "disk.img", running)
    esp = make_esp(image["tmp"] / "esp", running)
    bundle = _bundle(image, 200)
    assert (
        client.post(f"{URL}?reboot=true", data=bundle.read_bytes(), headers={**auth(operator), **OCTETS}).status_code
        == 202
    )
    reboots: list[bool] = []
    inbox.process(state_dir, image["public"], disk, esp, running.roothash, lambda: reboots.append(True))
    assert reboots == [True]
    status = client.get(URL, headers=auth(operator)).get_json()
    assert status["pending"] == []
    last = status["last_apply"]
    assert (last["state"], last["serial"], last["slot"], last["entry"]) == ("applied", 200, "b", "sealforge-200+3.efi")
    assert last["outcome"] == "waiting-for-reboot"
    assert [(s["slot"], s["state"]) for s in status["slots"]] == [("a", "running"), ("b", "trial")]
    # The trial boot failed its health check three times: systemd-boot falls back to release 100.
    (esp / "EFI/Linux/sealforge-200+3.efi").rename(esp / "EFI/Linux/sealforge-200+0-3.efi")
    inbox.process(state_dir, image["public"], disk, esp, running.roothash, lambda: reboots.append(True))
    assert reboots == [True]
    assert client.get(URL, headers=auth(operator)).get_json()["last_apply"]["outcome"] == "rolled-back"


def test_a_reboot_is_asked_for_and_done_by_the_root_updater(
    client: FlaskClient, operator: str, image: dict[str, Any], state_dir: Path
) -> None:
    response = client.post("/v1/system/reboot", headers=auth(operator))
    assert response.status_code == 202 and response.get_json()["reboot"] is True
    assert client.post("/v1/system/reboot", headers=auth(operator)).status_code == 202  # asked twice: one reboot
    running = make_release(image["tmp"] / "release-100", 100)
    disk, esp = make_disk(image["tmp"] / "disk.img", running), make_esp(image["tmp"] / "esp", running)
    reboots: list[bool] = []
    report = inbox.process(state_dir, image["public"], disk, esp, running.roothash, lambda: reboots.append(True))
    assert reboots == [True] and report["rebooting"] is True
    assert not any((state_dir / "updates/incoming").iterdir())


def test_a_failed_apply_is_reported_and_nothing_reboots(
    client: FlaskClient, operator: str, image: dict[str, Any], state_dir: Path
) -> None:
    running = make_release(image["tmp"] / "release-100", 100)
    disk = make_disk(image["tmp"] / "disk.img", running, slot_mib=2)
    esp = make_esp(image["tmp"] / "esp", running)
    big = make_release(image["tmp"] / "big", 200, root_bytes=3 << 20)  # fits no 2 MiB slot
    bundle = Path(bundle_tool().build(big.folder, image["tmp"], image["private"], None))
    assert (
        client.post(f"{URL}?reboot=true", data=bundle.read_bytes(), headers={**auth(operator), **OCTETS}).status_code
        == 202
    )
    reboots: list[bool] = []
    inbox.process(state_dir, image["public"], disk, esp, running.roothash, lambda: reboots.append(True))
    assert reboots == []
    last = client.get(URL, headers=auth(operator)).get_json()["last_apply"]
    assert last["state"] == "failed" and last["error"] == "UPDATE_BUNDLE_INVALID" and "does not fit" in last["message"]
    assert last["outcome"] == "none"


def test_bad_bundles_are_refused_and_nothing_is_kept(
    client: FlaskClient, operator: str, image: dict[str, Any], state_dir: Path
) -> None:
    good = _bundle(image, 200)
    ms = members(good)
    forged_sig = write_tar(image["tmp"] / "forged.sfbundle", [ms[0], (ms[1][0], b"AAAA" * 22 + b"\n"), *ms[2:]])
    cases = {
        "not a tar": (b"id,flow\n1,2\n" * 100, 400, "UPDATE_BUNDLE_INVALID"),
        "bad signature": (forged_sig.read_bytes(), 400, "UPDATE_BUNDLE_INVALID"),
        "truncated": (good.read_bytes()[:-300_000], 400, "UPDATE_BUNDLE_INVALID"),
        "empty": (b"", 400, "UPDATE_BUNDLE_INVALID"),
    }
    for name, (body, status, code) in cases.items():
        response = client.post(URL, data=body, headers={**auth(operator), **OCTETS})
        assert (response.status_code, _error(response)) == (status, code), name
    older = _bundle(image, 99)
    response = client.post(URL, data=older.read_bytes(), headers={**auth(operator), **OCTETS})
    assert response.status_code == 409 and _error(response) == "UPDATE_NOT_NEWER"
    response = client.post(f"{URL}?tries=0", data=good.read_bytes(), headers={**auth(operator), **OCTETS})
    assert response.status_code == 400 and _error(response) == "VALIDATION_FAILED"
    updates = state_dir / "updates"
    assert not any((updates / "incoming").iterdir()) if (updates / "incoming").exists() else True
    assert not any((updates / "tmp").iterdir())
    assert (
        client.post(
            f"{URL}?allow_downgrade=true", data=older.read_bytes(), headers={**auth(operator), **OCTETS}
        ).status_code
        == 202
    )


def test_a_bundle_over_the_size_limit_is_413(
    client: FlaskClient, operator: str, image: dict[str, Any], app_config: dict[str, Any]
) -> None:
    from appliance.api import create_app

    app_config["image"]["max_bundle_bytes"] = 500_000
    small = create_app(app_config).test_client()
    bundle = _bundle(image, 200)
    response = small.post(URL, data=bundle.read_bytes(), headers={**auth(operator), **OCTETS})
    assert response.status_code == 413 and _error(response) == "PAYLOAD_TOO_LARGE"

    response = small.post(  # chunked, no Content-Length: the limit holds on the stream as it arrives
        URL,
        input_stream=io.BytesIO(bundle.read_bytes()),
        headers={**auth(operator), **OCTETS, "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},  # what gunicorn sets for a chunked body
    )
    assert response.status_code == 413 and _error(response) == "PAYLOAD_TOO_LARGE"


def test_an_admin_key_is_not_enough(client: FlaskClient, keys: dict[str, str], image: dict[str, Any]) -> None:
    bundle = _bundle(image, 200)
    for method, url, body in (
        ("post", URL, bundle.read_bytes()),
        ("get", URL, None),
        ("post", "/v1/system/reboot", None),
    ):
        response = getattr(client, method)(url, data=body, headers={**auth(keys["admin"]), **OCTETS})
        assert response.status_code == 403 and _error(response) == "INSUFFICIENT_SCOPE", url


@pytest.mark.parametrize("missing", ["release_key", "os_release"])
def test_outside_the_image_every_route_is_409(
    operator: str, image: dict[str, Any], app_config: dict[str, Any], missing: str
) -> None:
    from appliance.api import create_app

    app_config["image"][missing] = str(image["tmp"] / "absent")
    client = create_app(app_config).test_client()
    bundle = _bundle(image, 200)
    for method, url, body in (
        ("post", URL, bundle.read_bytes()),
        ("get", URL, None),
        ("post", "/v1/system/reboot", None),
    ):
        response = getattr(client, method)(url, data=body, headers={**auth(operator), **OCTETS})
        assert response.status_code == 409 and _error(response) == "UPDATES_UNAVAILABLE", (url, response.get_json())

"""`sealforge-client`: the user CLI over the REST API.

The appliance's address and key come from --url/--api-key or SEALFORGE_URL/SEALFORGE_API_KEY;
for an https:// appliance, --ca-file/SEALFORGE_CA_FILE or --pin/SEALFORGE_PIN say which
certificate to trust.
Results print as JSON. Exit 0 on success, 1 on an error answer (its code and hint on stderr),
2 on bad usage.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

import httpx

from sealforge_client.client import Client
from sealforge_client.errors import SealforgeError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sealforge-client", description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("SEALFORGE_URL", "http://127.0.0.1:8080"))
    parser.add_argument("--api-key", default=os.environ.get("SEALFORGE_API_KEY"))
    parser.add_argument(
        "--ca-file",
        default=os.environ.get("SEALFORGE_CA_FILE") or None,
        help="PEM file of certificates to trust for https:// (e.g. the appliance's tls/server.crt)",
    )
    parser.add_argument(
        "--pin",
        default=os.environ.get("SEALFORGE_PIN") or None,
        help="SHA-256 fingerprint of the appliance's certificate (as `sealforge admin bootstrap` prints it)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("whoami", help="the tenant and scopes of your key")
    submit = sub.add_parser("submit", help="submit a job")
    submit.add_argument("kind")
    submit.add_argument("--params", default="{}", help="JSON object, or @file.json")
    submit.add_argument("--seed", type=int)
    submit.add_argument("--input", action="append", default=[], help="dataset id (repeatable)")
    submit.add_argument("--wait", action="store_true", help="wait for the job to end")
    for name, text in (("job", "show a job"), ("wait", "wait for a job to end"), ("cancel", "cancel a job")):
        sub.add_parser(name, help=text).add_argument("job_id")
    upload = sub.add_parser("upload", help="upload a dataset file")
    upload.add_argument("path")
    upload.add_argument("--format")
    download = sub.add_parser("download", help="download an artifact")
    download.add_argument("artifact_id")
    download.add_argument("-o", "--output", default=".")
    evidence = sub.add_parser("evidence", help="download a job's evidence bundle")
    evidence.add_argument("job_id")
    evidence.add_argument("-o", "--output", default=".")
    evidence.add_argument("--include-artifacts", action="store_true")
    return parser


def _params(raw: str) -> dict[str, Any]:
    text = open(raw[1:]).read() if raw.startswith("@") else raw  # noqa: SIM115
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("--params must be a JSON object")
    return value


def run(args: argparse.Namespace, client: Client) -> Any:
    if args.command == "whoami":
        return client.whoami()
    if args.command == "submit":
        job = client.submit(args.kind, _params(args.params), seed=args.seed, inputs=args.input)
        return client.wait(job["id"]) if args.wait else job
    if args.command == "job":
        return client.job(args.job_id)
    if args.command == "wait":
        return client.wait(args.job_id)
    if args.command == "cancel":
        return client.cancel(args.job_id)
    if args.command == "upload":
        return client.upload(args.path, fmt=args.format)
    if args.command == "download":
        return {"path": str(client.download(args.artifact_id, args.output))}
    if args.command == "evidence":
        return {"path": str(client.evidence(args.job_id, args.output, args.include_artifacts))}
    raise AssertionError(args.command)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not args.api_key:
        print("error: no API key: pass --api-key or set SEALFORGE_API_KEY", file=sys.stderr)
        return 2
    try:
        with Client(args.url, api_key=args.api_key, ca_file=args.ca_file, pin_sha256=args.pin) as client:
            print(json.dumps(run(args, client), indent=2))
    except SealforgeError as exc:
        print(f"error: {exc.code}: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return 1
    except httpx.HTTPError as exc:
        print(f"error: cannot reach {args.url}: {exc}", file=sys.stderr)
        return 1
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`sealforge-client`: the user CLI over the REST API.

The appliance's address and key come from --url/--api-key or SEALFORGE_URL/SEALFORGE_API_KEY;
for an https:// appliance, --ca-file/SEALFORGE_CA_FILE or --pin/SEALFORGE_PIN say which
certificate to trust. Every command takes --help, and --json for machine output (one JSON
document on stdout; `jobs watch --json` writes one event per line). Progress goes to stderr.
Exit 0 on success, 1 on an error answer, an unreachable appliance, a job that did not succeed
or a cut download (its .partial file is kept: run the same command to resume), 2 on bad usage.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import IO, Any, cast

import httpx

from sealforge_client.cli_client import CliClient
from sealforge_client.cli_progress import ByteProgress, JobProgress, ReadProgress
from sealforge_client.client import Client
from sealforge_client.errors import SealforgeError

UPLOAD_PROGRESS_BYTES = 4 << 20  # files from this size show upload progress even off a terminal
VERIFY_MISSING = (
    "the offline verifier is not installed: `pip install ./offline_verify` from the Sealforge source "
    "(or the sealforge-verify wheel), then run this again"
)


class JobEnded(Exception):
    """A waited-for job ended other than succeeded: exit 1 with its error."""


class DownloadCut(Exception):
    """The connection kept failing mid-download: the `.partial` file stays for the next run."""


def _json_flag() -> argparse.ArgumentParser:
    flag = argparse.ArgumentParser(add_help=False)
    flag.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="machine output (JSON)")
    return flag


def _positive(raw: str) -> int:
    """An argparse type for counts: a clear usage error for 0, negatives and non-numbers."""
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {raw!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _jobs_parser(sub: Any, common: list[argparse.ArgumentParser]) -> None:
    jobs = sub.add_parser("jobs", parents=common, help="list, create, watch, cancel and rerun jobs")
    cmd = jobs.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = cmd.add_parser("list", parents=common, help="your jobs, newest first")
    listing.add_argument("--status", choices=["created", "queued", "running", "succeeded", "failed", "canceled"])
    listing.add_argument("--kind")
    listing.add_argument("--limit", type=_positive, default=50, help="at most this many (default 50)")
    listing.add_argument("--order", choices=["desc", "asc"], default="desc",
                         help="desc: newest first (the default); asc: oldest first")
    create = cmd.add_parser("create", parents=common, help="submit a job (202: queued)")
    create.add_argument("kind", help="mock, synthesize, train, simulate, … (GET /v1/jobs/kinds)")
    create.add_argument("--params", default="{}", help="JSON object, or @file.json")
    create.add_argument("--schema", metavar="FILE", help="a mock schema file: sets params.schema")
    create.add_argument("--seed", type=int)
    create.add_argument("--input", action="append", default=[], metavar="DATASET_ID", help="repeatable")
    create.add_argument("--description", default="")
    create.add_argument("--wait", action="store_true", help="follow its progress until it ends")
    for name, text in (
        ("get", "show one job"),
        ("watch", "follow a job's progress (event stream) until it ends"),
        ("cancel", "cancel a job"),
    ):
        cmd.add_parser(name, parents=common, help=text).add_argument("job_id")
    rerun = cmd.add_parser("rerun", parents=common, help="a new job with the same contract")
    rerun.add_argument("job_id")
    rerun.add_argument("--wait", action="store_true", help="follow its progress until it ends")


def _data_parsers(sub: Any, common: list[argparse.ArgumentParser]) -> None:
    datasets = sub.add_parser("datasets", parents=common, help="upload, list, preview and profile datasets")
    cmd = datasets.add_subparsers(dest="action", required=True, metavar="ACTION")
    upload = cmd.add_parser("upload", parents=common, help="upload CSV, TSV, Parquet or JSON Lines")
    upload.add_argument("path")
    upload.add_argument("--name", help="dataset name (default: the file's name)")
    upload.add_argument("--format", choices=["csv", "tsv", "parquet", "jsonl"])
    listing = cmd.add_parser("list", parents=common, help="your datasets")
    listing.add_argument("--limit", type=int, default=50)
    preview = cmd.add_parser("preview", parents=common, help="the first rows")
    preview.add_argument("dataset_id")
    preview.add_argument("--rows", type=int, default=10)
    profile = cmd.add_parser("profile", parents=common, help="column profile and inferred schema (waits for it)")
    profile.add_argument("dataset_id")
    profile.add_argument("--no-wait", action="store_true", help="answer the analyze job instead of waiting")

    artifacts = sub.add_parser("artifacts", parents=common, help="list and download a job's outputs")
    cmd = artifacts.add_subparsers(dest="action", required=True, metavar="ACTION")
    cmd.add_parser("list", parents=common, help="a job's artifacts").add_argument("job_id")
    download = cmd.add_parser("download", parents=common, help="download (resumes a .partial file)")
    download.add_argument("artifact_id", nargs="?", help="one artifact (or give --job for all of a job's)")
    download.add_argument("--job", help="download every artifact of this job")
    download.add_argument("-o", "--output", default=".", help="file or folder (default: .)")

    seals = sub.add_parser("seals", parents=common, help="the seal log")
    cmd = seals.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = cmd.add_parser("list", parents=common, help="your seals, oldest first")
    listing.add_argument("--job", help="only this job's")
    listing.add_argument("--limit", type=int, default=50)
    checkpoint = cmd.add_parser("checkpoint", parents=common, help="save the latest signed checkpoint (keep it)")
    checkpoint.add_argument("-o", "--output", default="checkpoint.txt", help="file (default: checkpoint.txt)")
    proof = cmd.add_parser(
        "proof", parents=common, help="save a consistency proof for sealforge-verify --consistency-proof"
    )
    proof.add_argument("--from", dest="from_size", type=_positive, required=True, help="the smaller tree size")
    proof.add_argument("--to", dest="to_size", type=_positive, help="the larger tree size (default: the log's)")
    proof.add_argument("-o", "--output", default="consistency.json", help="file (default: consistency.json)")
    cmd.add_parser("witnesses", parents=common, help="the witnesses whose cosignatures the appliance serves")
    add = cmd.add_parser("add-witness", parents=common, help="register a witness (needs an operator key)")
    add.add_argument("verifier_key", help="the vkey `sealforge-verify witness keygen` printed, or @FILE holding it")
    add.add_argument("--description", default="", help="who runs the witness, for the list")
    cmd.add_parser(
        "remove-witness", parents=common, help="remove a witness and its stored cosignatures (needs an operator key)"
    ).add_argument("key_id", help="the witness's name+keyid, as `seals witnesses` lists it")
    send = cmd.add_parser("send-cosignatures", parents=common, help="hand the appliance a cosigned checkpoint")
    send.add_argument("file", help="the note `witness cosign` wrote (or, with --tree-size, its --line-only lines)")
    send.add_argument("--tree-size", type=_positive, help="FILE holds only cosignature lines, on this checkpoint")

    evidence = sub.add_parser("evidence", parents=common, help="fetch and verify evidence bundles")
    cmd = evidence.add_subparsers(dest="action", required=True, metavar="ACTION")
    fetch = cmd.add_parser("fetch", parents=common, help="download a succeeded job's bundle (.tar)")
    fetch.add_argument("job_id")
    fetch.add_argument("-o", "--output", default=".", help="file or folder (default: .)")
    fetch.add_argument("--include-artifacts", action="store_true")
    fetch.add_argument(
        "--witnessed", action="store_true", help="prove against the newest checkpoint witnesses cosigned"
    )
    trust = cmd.add_parser("trust", parents=common, help="write the appliance's trust file (signing keys)")
    trust.add_argument("-o", "--output", default="trust.txt")
    verify = cmd.add_parser("verify", parents=common, help="verify a bundle offline (needs sealforge-verify)")
    verify.add_argument("bundle")
    verify.add_argument("--trust", required=True, metavar="KEYFILE", help="e.g. from `evidence trust`")
    verify.add_argument("--artifacts", metavar="DIR", help="folder holding the artifacts by name")
    verify.add_argument("--require-artifacts", action="store_true", help="fail when an artifact is not checked")
    verify.add_argument("--prev-checkpoint", metavar="FILE", help="a checkpoint you kept (`seals checkpoint`)")
    verify.add_argument("--consistency-proof", metavar="FILE", help="a proof from `seals proof`")
    verify.add_argument("--witness", action="append", default=[], metavar="VKEYFILE", help="a witness you trust")
    verify.add_argument("--min-witnesses", type=_positive, help="cosignatures needed (default: every --witness)")


def _parser() -> argparse.ArgumentParser:
    common = [_json_flag()]
    parser = argparse.ArgumentParser(
        prog="sealforge-client",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
        parents=common,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
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
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("whoami", parents=common, help="the tenant and scopes of your key")
    _jobs_parser(sub, common)
    estimate = sub.add_parser("estimate", parents=common, help="credits, seconds and queue a job would take")
    estimate.add_argument("kind")
    estimate.add_argument("--params", default="{}", help="JSON object, or @file.json")
    estimate.add_argument("--schema", metavar="FILE", help="a mock schema file: sets params.schema")
    _data_parsers(sub, common)
    # the first spellings, kept so scripts written for them keep working
    legacy = sub.add_parser("submit", parents=common, help="same as `jobs create`")
    legacy.add_argument("kind")
    legacy.add_argument("--params", default="{}")
    legacy.add_argument("--seed", type=int)
    legacy.add_argument("--input", action="append", default=[])
    legacy.add_argument("--wait", action="store_true")
    for name, text in (
        ("job", "same as `jobs get`"),
        ("wait", "same as `jobs watch`"),
        ("cancel", "same as `jobs cancel`"),
    ):
        sub.add_parser(name, parents=common, help=text).add_argument("job_id")
    upload = sub.add_parser("upload", parents=common, help="same as `datasets upload`")
    upload.add_argument("path")
    upload.add_argument("--format")
    download = sub.add_parser("download", parents=common, help="same as `artifacts download`")
    download.add_argument("artifact_id")
    download.add_argument("-o", "--output", default=".")
    return parser


def _legacy_argv(argv: list[str]) -> list[str]:
    """`evidence JOB_ID …` (the first spelling) means `evidence fetch JOB_ID …`."""
    for i, word in enumerate(argv):
        if word == "evidence":
            nxt = argv[i + 1] if i + 1 < len(argv) else ""
            if nxt and not nxt.startswith("-") and nxt not in ("fetch", "verify", "trust"):
                return [*argv[: i + 1], "fetch", *argv[i + 1 :]]
            return argv
        if not word.startswith("-") and argv[i - 1] not in ("--url", "--api-key", "--ca-file", "--pin"):
            return argv  # the command is another one
    return argv


def _object(raw: str, what: str) -> dict[str, Any]:
    text = Path(raw[1:]).read_text() if raw.startswith("@") else raw
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{what} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be a JSON object")
    return value


def _params(raw: str, schema: str | None = None) -> dict[str, Any]:
    """--params (inline JSON or @file), with --schema FILE as its `schema`."""
    params = _object(raw, "--params")
    if schema:
        params["schema"] = _object("@" + schema, f"--schema {schema}")
    return params


# -- commands ------------------------------------------------------------------------------------
def follow(client: Client, job_id: str, machine: bool = False, stream: IO[str] | None = None) -> dict[str, Any]:
    """Follow the job's event stream to its end, drawing the bar on stderr (with ``machine``, also
    writing each event as a JSON line on stdout: `jobs watch --json`); returns the final job."""
    bar = JobProgress(job_id, stream=stream)
    ticks = client.ticks(job_id) if isinstance(client, CliClient) else client.events(job_id)
    for event in ticks:
        if event is None:
            bar.heartbeat()
            continue
        if machine:
            print(json.dumps(event), flush=True)
        bar.event(event)
    job = client.job(job_id)
    bar.status = job["status"]
    if job["status"] == "succeeded":
        bar.fraction = 1.0
    bar.done()
    return job


def _ended(job: dict[str, Any]) -> dict[str, Any]:
    if job["status"] != "succeeded":
        error = job.get("error") or {}
        detail = f": {error.get('code')}: {error.get('message')}" if error else ""
        raise JobEnded(f"job {job['id']} {job['status']}{detail}")
    return job


def _jobs(args: argparse.Namespace, client: Client) -> Any:
    machine = getattr(args, "json", False)  # `watch --json`: the events as JSON lines, then the job
    action = args.action
    if action == "list":
        return list(client.jobs(status=args.status, kind=args.kind, limit=args.limit, order=args.order))
    if action == "create":
        job = client.submit(args.kind, _params(args.params, args.schema), seed=args.seed, inputs=args.input,
                            description=args.description)
        return _ended(follow(client, job["id"])) if args.wait else job
    if action == "get":
        return client.job(args.job_id)
    if action == "watch":
        job = follow(client, args.job_id, machine)
        if machine:
            print(json.dumps(job), flush=True)
            _ended(job)
            return None
        return _ended(job)
    if action == "cancel":
        return client.cancel(args.job_id)
    if action == "rerun":
        job = client.rerun(args.job_id)
        return _ended(follow(client, job["id"])) if args.wait else job
    raise AssertionError(action)


def _upload(client: Client, path: str, name: str | None, fmt: str | None) -> dict[str, Any]:
    source = Path(path)
    if not source.is_file():
        raise ValueError(f"{path}: no such file")
    size = source.stat().st_size
    progress = ByteProgress(f"uploading {source.name}", size,
                            enabled=size >= UPLOAD_PROGRESS_BYTES or sys.stderr.isatty())
    with source.open("rb") as fh:
        dataset = client.upload(cast(IO[bytes], ReadProgress(fh, progress)), name=name or source.name, fmt=fmt)
    progress.finish()
    return dataset


def _datasets(args: argparse.Namespace, client: CliClient) -> Any:
    if args.action == "upload":
        return _upload(client, args.path, args.name, args.format)
    if args.action == "list":
        return client.page("/v1/datasets", args.limit)
    if args.action == "preview":
        return client.dataset_preview(args.dataset_id, args.rows)
    if args.action == "profile":
        def pending(job: dict[str, Any], delay: float) -> None:
            print(f"profiling {args.dataset_id}: analyze job {job['id']} is {job['status']}; "
                  f"asking again in {delay:.0f} s", file=sys.stderr, flush=True)

        _, body = client.profile(args.dataset_id, wait=not args.no_wait, on_pending=pending)
        return body
    raise AssertionError(args.action)


class _Bar:
    """`Client.download`'s progress callback drawn as a `ByteProgress` (made at the first call,
    when the total is known)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.bar: ByteProgress | None = None
        self.seen = 0

    def __call__(self, have: int, total: int | None) -> None:
        if self.bar is None:
            big = (total or 0) >= UPLOAD_PROGRESS_BYTES or sys.stderr.isatty()
            self.bar = ByteProgress(self.label, total, start=0, enabled=big)
        self.bar.add(have - self.seen)
        self.seen = have

    def finish(self) -> None:
        if self.bar is not None:
            self.bar.finish()


def _artifacts(args: argparse.Namespace, client: CliClient) -> Any:
    if args.action == "list":
        return client.artifacts(args.job_id)
    if (args.artifact_id is None) == (args.job is None):
        raise ValueError("give an artifact id or --job JOB_ID (one of them)")
    metas = client.artifacts(args.job) if args.job else [client.artifact(args.artifact_id)]
    out = Path(args.output)
    if args.job:
        out.mkdir(parents=True, exist_ok=True)
    written = []
    for meta in metas:
        bar = _Bar(f"downloading {meta['name']}")
        try:
            path = client.download(meta["id"], out, progress=bar)
        except httpx.TransportError as exc:
            raise DownloadCut(f"download of {meta['id']} cut ({exc}); the .partial file is kept: "
                              "run the same command to resume") from exc
        bar.finish()
        written.append({"artifact_id": meta["id"], "path": str(path), "size": path.stat().st_size})
    return written if args.job else written[0]


def _seals(args: argparse.Namespace, client: CliClient) -> Any:
    """The seal log: list seals, or save what an offline auditor carries over (a checkpoint to keep,
    a consistency proof for `sealforge-verify --consistency-proof`), written exactly as served."""
    if args.action == "list":
        return client.page("/v1/seals", args.limit, job_id=args.job)
    if args.action == "checkpoint":
        checkpoint = client.get("/v1/seals/checkpoint")
        Path(args.output).write_text(checkpoint["note"], encoding="utf-8")
        return {"path": args.output, "origin": checkpoint["origin"], "tree_size": checkpoint["tree_size"]}
    if args.action in ("witnesses", "add-witness", "remove-witness", "send-cosignatures"):
        return _witnesses(args, client)
    proof = client.get("/v1/seals/proof/consistency", **{"from": args.from_size, "to": args.to_size})
    Path(args.output).write_text(json.dumps(proof, sort_keys=True) + "\n", encoding="utf-8")
    return {"path": args.output, "from_size": proof["from_size"], "to_size": proof["to_size"]}


def _witnesses(args: argparse.Namespace, client: CliClient) -> Any:
    """The seal log's witnesses: list, register, remove, and cosignatures handed back."""
    if args.action == "witnesses":
        return client.witnesses()
    if args.action == "add-witness":
        vkey = args.verifier_key
        if vkey.startswith("@"):
            vkey = Path(vkey[1:]).read_text(encoding="utf-8")
        return client.add_witness(vkey, args.description)
    if args.action == "remove-witness":
        return client.remove_witness(args.key_id)
    text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
    if args.tree_size is None:
        return client.send_cosignatures(text)
    return client.send_cosignatures(tree_size=args.tree_size, lines=[x for x in text.splitlines() if x.strip()])


def _evidence(args: argparse.Namespace, client: CliClient | None) -> Any:
    if args.action == "verify":
        return _verify(args)
    assert client is not None
    if args.action == "trust":
        Path(args.output).write_text(client.trust_file())
        return {"path": args.output}
    path = client.evidence(args.job_id, args.output, args.include_artifacts, args.witnessed)
    return {"path": str(path), "size": path.stat().st_size}


def _verify(args: argparse.Namespace) -> int:
    """Hand over to the offline verifier: its report on stdout, its exit status."""
    try:
        from sealforge_verify.cli import main as verify_main
    except ImportError:
        raise ValueError(VERIFY_MISSING) from None
    argv = [args.bundle, "--trust", args.trust]
    for flag in ("artifacts", "prev_checkpoint", "consistency_proof"):
        if getattr(args, flag, None):
            argv += ["--" + flag.replace("_", "-"), getattr(args, flag)]
    for vkey in getattr(args, "witness", None) or []:
        argv += ["--witness", vkey]
    if getattr(args, "min_witnesses", None):
        argv += ["--min-witnesses", str(args.min_witnesses)]
    if getattr(args, "require_artifacts", False):
        argv.append("--require-artifacts")
    if getattr(args, "json", False):
        argv.append("--json")
    return int(verify_main(argv))


def run(args: argparse.Namespace, client: Client) -> Any:
    """The command's result (printed by `main`); commands that stream print as they go."""
    command = args.command
    cli = client if isinstance(client, CliClient) else None
    if command == "whoami":
        return client.whoami()
    if command == "jobs":
        return _jobs(args, client)
    if command == "estimate":
        return client.estimate(args.kind, _params(args.params, args.schema))
    if command in ("datasets", "artifacts", "seals", "evidence") and cli is None:
        raise ValueError(f"`{command}` needs a CliClient")
    if command == "datasets":
        return _datasets(args, cast(CliClient, cli))
    if command == "artifacts":
        return _artifacts(args, cast(CliClient, cli))
    if command == "seals":
        return _seals(args, cast(CliClient, cli))
    if command == "evidence":
        return _evidence(args, cli)
    # the first spellings
    if command == "submit":
        job = client.submit(args.kind, _params(args.params), seed=args.seed, inputs=args.input)
        return _ended(follow(client, job["id"])) if args.wait else job
    if command in ("job", "wait", "cancel"):
        action = {"job": "get", "wait": "watch", "cancel": "cancel"}[command]
        return _jobs(argparse.Namespace(**{**vars(args), "action": action}), client)
    if command == "upload":
        return _upload(client, args.path, None, args.format)
    if command == "download":
        ns = argparse.Namespace(**{**vars(args), "action": "download", "job": None})
        return _artifacts(ns, cast(CliClient, cli))
    raise AssertionError(command)


# -- output --------------------------------------------------------------------------------------
COLUMNS = ("id", "kind", "name", "status", "progress", "rows", "size", "columns", "job_id", "path", "created_at")


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))[:60]
    return "" if value is None else str(value)


def human(result: Any) -> str:
    """A person's view: a table for a list of objects, `key: value` lines for one object."""
    if isinstance(result, list) and result and all(isinstance(r, dict) for r in result):
        keys = [k for k in COLUMNS if k in result[0]] or list(result[0])[:6]
        rows = [keys] + [[_cell(r.get(k)) for k in keys] for r in result]
        widths = [max(len(row[i]) for row in rows) for i in range(len(keys))]
        return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows)
    if isinstance(result, list):
        return "(none)" if not result else "\n".join(_cell(r) for r in result)
    if isinstance(result, dict):
        width = max((len(k) for k in result), default=0)
        lines = []
        for key, value in result.items():
            if isinstance(value, list) and not any(isinstance(v, dict | list) for v in value):
                text = ", ".join(_cell(v) for v in value)  # scopes, tags: one line
            else:
                text = json.dumps(value, indent=2) if isinstance(value, dict | list) else _cell(value)
            lines.append(f"{key.ljust(width)}  {text}")
        return "\n".join(lines)
    return _cell(result)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(_legacy_argv(list(sys.argv[1:] if argv is None else argv)))
    machine = getattr(args, "json", False)
    if args.command == "evidence" and args.action == "verify":
        try:
            return _verify(args)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    if not args.api_key:
        print("error: no API key: pass --api-key or set SEALFORGE_API_KEY", file=sys.stderr)
        return 2
    try:
        with CliClient(args.url, api_key=args.api_key, ca_file=args.ca_file, pin_sha256=args.pin) as client:
            result = run(args, client)
    except SealforgeError as exc:
        print(f"error: {exc.code}: {exc.message}", file=sys.stderr)
        for detail in exc.details:
            print(f"  {detail.get('field', '')}: {detail.get('message', '')}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return 1
    except (JobEnded, DownloadCut, TimeoutError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except httpx.HTTPError as exc:
        print(f"error: cannot reach {args.url}: {exc}", file=sys.stderr)
        return 1
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted (a download's .partial file is kept: run the same command to resume)", file=sys.stderr)
        return 130
    if result is not None:
        try:
            print(json.dumps(result, indent=2) if machine else human(result))
        except BrokenPipeError:  # `… | head`: the reader has what it wanted
            sys.stderr.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""checkov over the synthesized Terraform, with a reviewed skip list.

``make check`` and ``gkeml check`` run checkov (its own virtualenv,
``.venv-checkov``) with ``--framework terraform_json`` on every
``cdktf.out/stacks/*/cdk.tf.json``. The gate fails on any failed check that the
skip list below does not cover, and on parse errors: checkov reports a file it
cannot parse as ``summary.parsing_errors`` and still exits 0, which would
otherwise pass a stack that was never checked.

Skips are applied here rather than with ``--skip-check`` so that each one can be
limited to the resources it was reviewed for (a predicate on the resource's
Terraform config) and so skipped results stay visible in the report.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gkeml.exitcodes import CommandError
from gkeml.stackfile import read_output_file, read_stack

ROOT = Path(__file__).resolve().parents[1]
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"  # in a checkout of gkeml (`make install`)
LOCAL_CHECKOV = Path(".venv-checkov") / "bin" / "checkov"  # in the current directory: a platform repository's


def checkov_path() -> Path:
    """Where checkov is: ``GKEML_CHECKOV``, else ``.venv-checkov`` of the current directory (what the
    Makefile of a platform repository written by ``gkeml init`` installs), else that of a gkeml checkout."""
    if os.environ.get("GKEML_CHECKOV"):
        return Path(os.environ["GKEML_CHECKOV"])
    return LOCAL_CHECKOV.resolve() if LOCAL_CHECKOV.exists() else CHECKOV


class CheckovError(CommandError):
    """checkov could not be run or its output could not be read (a usage error, exit 2)."""


@dataclass(frozen=True)
class Skip:
    """A reviewed exception: the check, why it does not apply, and to which resources."""

    check: str
    reason: str
    scope: str = "every resource"
    applies: Callable[[dict], bool] = field(default=lambda conf: True, repr=False, compare=False)


def _ip_endpoint_disabled(conf: dict) -> bool:
    endpoints = _first(_first(conf.get("control_plane_endpoints_config")).get("ip_endpoints_config"))
    return endpoints.get("enabled") is False


def _no_security_group(conf: dict) -> bool:
    return not _first(conf.get("authenticator_groups_config")).get("security_group")


def _checkpoint_bucket(conf: dict) -> bool:
    return _first(conf.get("labels")).get("purpose") == "checkpoints"


def _access_log_bucket(conf: dict) -> bool:
    return _first(conf.get("labels")).get("purpose") == "access-logs"


def _unversioned_by_design(conf: dict) -> bool:
    return _checkpoint_bucket(conf) or _access_log_bucket(conf) or bool(_first(conf.get("retention_policy")))


def _first(value: Any) -> dict:
    """A nested block: cdk.tf.json writes single blocks as objects, some as one-element lists."""
    if isinstance(value, list):
        value = value[0] if value else {}
    return value if isinstance(value, dict) else {}


SKIPS: tuple[Skip, ...] = (
    Skip(
        "CKV_GCP_12",
        "Autopilot always runs GKE Dataplane V2, which enforces NetworkPolicy; the network_policy block the "
        "check looks for is a Standard-mode (Calico) setting that Autopilot rejects. The toolkit emits "
        "default-deny policies per team namespace (rule GKE023 checks them).",
    ),
    Skip(
        "CKV_GCP_69",
        "Autopilot has no node_config: the GKE metadata server is always on because Workload Identity "
        "Federation is always enabled on Autopilot.",
    ),
    Skip(
        "CKV_GCP_61",
        "Intranode visibility is enabled by default on Autopilot clusters (how-to/intranode-visibility), and "
        "the google provider refuses enable_intranode_visibility together with enable_autopilot "
        "(ConflictsWith), so the flag the check looks for cannot be written.",
    ),
    Skip(
        "CKV_GCP_65",
        "Google Groups for RBAC needs a Google Workspace or Cloud Identity group gke-security-groups@<domain>; "
        "an environment without teams[].groups does not set cluster.rbac_security_group, and its people "
        "(teams[].members) are RoleBinding subjects by their own accounts. An environment that lists groups must "
        "set it (the loader refuses groups without it), and its cluster keeps the check.",
        scope="google_container_cluster without authenticator_groups_config",
        applies=_no_security_group,
    ),
    Skip(
        "CKV_GCP_20",
        "The cluster's IP endpoint is disabled (control_plane_endpoints_config.ip_endpoints_config.enabled "
        "= false): the control plane is reached only through its IAM-authorised DNS endpoint, so there is "
        "no IP endpoint to restrict. Clusters with public_endpoint: true keep the check.",
        scope="google_container_cluster with the IP endpoint disabled",
        applies=_ip_endpoint_disabled,
    ),
    Skip(
        "CKV_GCP_78",
        "Checkpoint buckets are rewritten every few minutes by training; object versioning would keep every "
        "overwrite and multiply the storage bill. They expire after 30 days by design. The access-log bucket "
        "only receives write-once log objects that expire after 90 days. A bucket with a retention policy "
        "cannot be versioned (GCS refuses the combination) and the policy already keeps every object. "
        "Other dataset and artifact buckets keep the check.",
        scope="google_storage_bucket labelled purpose=checkpoints or purpose=access-logs, or with a retention policy",
        applies=_unversioned_by_design,
    ),
    Skip(
        "CKV_GCP_84",
        "Artifact Registry encrypts every repository at rest with Google-managed keys. A customer-managed key "
        "(CMEK) needs a Cloud KMS key ring in the repository's region, the Artifact Registry service agent's "
        "access to it and a rotation policy, and the key can only be set when the repository is created; the "
        "environment model has no KMS section yet. Revisit when it gains one (the buckets, secrets and topics "
        "would use the same key).",
    ),
    Skip(
        "CKV_GCP_83",
        "The topics carry GKE upgrade notices, budget updates and alert notifications (no workload data), "
        "encrypted at rest with Google-managed keys. A customer-managed key needs a Cloud KMS key ring and the "
        "Pub/Sub service agent's access to it; the environment model has no KMS section yet. Revisit when it "
        "gains one.",
    ),
    Skip(
        "CKV_GCP_62",
        "This is the bucket that receives every other bucket's access logs; logging it into itself would "
        "log its own log writes. All data buckets keep the check.",
        scope="google_storage_bucket labelled purpose=access-logs",
        applies=_access_log_bucket,
    ),
)


@dataclass(frozen=True)
class CheckovResult:
    """One failed check on one resource; ``skip_reason`` is set when the skip list covers it."""

    check: str
    name: str
    stack: str
    resource: str
    file: str
    lines: tuple[int, int]
    skip_reason: str = ""

    def to_dict(self) -> dict:
        """Plain dict for JSON output."""
        return asdict(self)


@dataclass
class CheckovReport:
    """What checkov found over all stacks, after the skip list."""

    stacks: list[str]
    passed: int
    failed: list[CheckovResult]
    skipped: list[CheckovResult]
    parsing_errors: list[str]
    version: str = ""

    @property
    def ok(self) -> bool:
        """True when no check failed outside the skip list and every file was parsed."""
        return not self.failed and not self.parsing_errors

    def summary(self) -> str:
        """One line: passed, failed, skipped (reviewed), parse errors."""
        text = (
            f"checkov {self.version}: {self.passed} passed, {len(self.failed)} failed, "
            f"{len(self.skipped)} skipped (reviewed) over {len(self.stacks)} stack(s)"
        )
        if self.parsing_errors:
            text += f"; {len(self.parsing_errors)} file(s) could not be parsed: {', '.join(self.parsing_errors)}"
        return text

    def to_dict(self) -> dict:
        """Plain dict for JSON output."""
        return {
            "ok": self.ok,
            "version": self.version,
            "stacks": self.stacks,
            "passed": self.passed,
            "failed": [f.to_dict() for f in self.failed],
            "skipped": [f.to_dict() for f in self.skipped],
            "parsing_errors": self.parsing_errors,
        }


def stack_files(outdir: str | Path) -> list[Path]:
    """``<outdir>/stacks/*/cdk.tf.json``; CheckovError when there are none."""
    files = sorted(Path(outdir).glob("stacks/*/cdk.tf.json"))
    if not files:
        raise CheckovError(f"no synthesized stacks in {outdir}/stacks; run `make synth` first")
    return files


def _resource_conf(stack: dict, resource: str) -> dict:
    """The Terraform config of ``resource`` ('type.name' or checkov's 'resource.name')."""
    rtype, _, name = resource.partition(".")
    for found_type, items in (stack.get("resource") or {}).items():
        if (rtype in ("resource", found_type)) and isinstance(items, dict) and name in items:
            return items[name]
    return {}


# Top-level blocks of a stack that checkov's terraform_json parser refuses (the whole file is then a
# parsing error): Terraform's state-only blocks, which hold no resource to check.
STATE_BLOCKS = ("moved", "removed")


def checkov_view(text: str) -> str:
    """``text`` of a stack as checkov can read it. Its terraform_json parser refuses things every
    gkeml stack may have, and then reports the whole file as a parsing error and checks nothing
    (exit 0): ``terraform.required_version`` and a top-level ``moved`` or ``removed`` block
    (:data:`STATE_BLOCKS`). In cdktf's pretty-printed output they sit on lines of their own: they are
    blanked (a comma left dangling is dropped), so every resource keeps its line number. Anything
    else is re-written without them."""
    lines = text.splitlines(keepends=True)
    blank: set[int] = set()
    for i, line in enumerate(lines):
        if any(line.startswith(f'  "{block}": [') for block in STATE_BLOCKS):
            end = next((j for j in range(i, len(lines)) if lines[j].rstrip() in ("  ]", "  ],")), None)
            if end is not None:
                blank.update(range(i, end + 1))
        elif line.strip().rstrip(",").startswith('"required_version":') and line.strip().count('"') == 4:
            blank.add(i)
    if blank:
        for i in sorted(blank):
            lines[i] = "\n"
        kept = [i for i in range(len(lines)) if i not in blank and lines[i].strip()]
        for a, b in zip(kept, kept[1:]):  # a comma before a closing bracket is no longer valid JSON
            if lines[a].rstrip().endswith(",") and lines[b].lstrip()[:1] in "}]":
                lines[a] = lines[a].rstrip()[:-1] + "\n"
        return "".join(lines)
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return text  # checkov reports it
    if isinstance(data, dict):
        for block in STATE_BLOCKS:
            data.pop(block, None)
        terraform = data.get("terraform")
        if isinstance(terraform, dict):
            terraform.pop("required_version", None)
        return json.dumps(data, indent=2)
    return text


def extension_skips(envs: Iterable[Any]) -> list[Skip]:
    """The reviewed checkov skips the environments' extensions bring (``checkov_skips``), each limited to the
    resources of that extension in that environment's stacks (construct path ``<env>/ext-<name>/...``)."""
    from gkeml.config.extensions import loaded

    skips = []
    for env in envs:
        for _, extension in loaded(env):
            scope = f"{env.name}/ext-{extension.name}/"
            for check, reason in extension.checkov_skips.items():
                skips.append(
                    Skip(check, reason, f"the resources of extension {extension.name} in {env.name}", _under(scope))
                )
    return skips


def _under(scope: str) -> Callable[[dict], bool]:
    """Whether a resource's construct path lies under ``scope``."""
    return lambda conf: _construct_path(conf).startswith(scope)


def _construct_path(conf: dict) -> str:
    """The construct path cdktf records for a resource (``stack/construct/.../id``)."""
    return str(((conf.get("//") or {}).get("metadata") or {}).get("path", ""))


def run_checkov(
    outdir: str | Path, checkov: str | Path | None = None, timeout: int = 900, extra_skips: Sequence[Skip] = ()
) -> CheckovReport:
    """Run checkov on every synthesized stack under ``outdir`` (as written, but for what its parser
    cannot read: :func:`checkov_view`) and apply :data:`SKIPS` and ``extra_skips`` (an extension's:
    :func:`extension_skips`)."""
    files = stack_files(outdir)
    checkov = Path(checkov or checkov_path())
    if not checkov.exists():
        raise CheckovError(
            f"checkov not found at {checkov}; run `make .venv-checkov/.stamp` (or set GKEML_CHECKOV) or pass --no-checkov"
        )
    stacks_dir = Path(outdir) / "stacks"  # as given: reported paths stay relative to the caller's directory
    with tempfile.TemporaryDirectory(prefix="gkeml-checkov-") as scratch:
        for file in files:
            copy = Path(scratch) / file.parent.name / file.name
            copy.parent.mkdir()
            copy.write_text(checkov_view(read_output_file(file).decode("utf-8", "replace")))
        cmd = [str(checkov), "-d", scratch, "--framework", "terraform_json", "-o", "json", "--skip-download"]
        try:
            proc = subprocess.run(
                cmd, capture_output=True, text=True, timeout=timeout, env={**os.environ, "LOG_LEVEL": "ERROR"}
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise CheckovError(f"checkov did not run: {exc}") from None
    try:
        data = json.loads(proc.stdout)
    except json.JSONDecodeError:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise CheckovError(f"checkov exited {proc.returncode} without a JSON report: {tail}") from None
    reports = [d for d in (data if isinstance(data, list) else [data]) if isinstance(d, dict)]
    stacks = {f.parent.name: read_stack(f) for f in files}
    passed, failed, skipped, parse_errors, version = 0, [], [], [], ""
    for report in reports:
        summary = report.get("summary") or report
        version = summary.get("checkov_version", version)
        passed += int(summary.get("passed", 0))
        results = report.get("results") or {}
        parse_errors += [str(p) for p in results.get("parsing_errors", [])]
        if int(summary.get("parsing_errors", 0)) > len(results.get("parsing_errors", [])):
            parse_errors.append(f"{int(summary['parsing_errors'])} file(s) reported by checkov")
        for item in results.get("failed_checks", []):
            stack = Path(item.get("file_path", "")).parent.name
            result = CheckovResult(
                check=item.get("check_id", "?"),
                name=item.get("check_name", ""),
                stack=stack,
                resource=item.get("resource", "?"),
                file=str(stacks_dir / stack / "cdk.tf.json"),
                lines=tuple(item.get("file_line_range") or (0, 0)),
            )
            conf = _resource_conf(stacks.get(stack, {}), result.resource)
            skip = next((s for s in (*SKIPS, *extra_skips) if s.check == result.check and s.applies(conf)), None)
            if skip:
                skipped.append(CheckovResult(**{**asdict(result), "skip_reason": skip.reason}))
            else:
                failed.append(result)
    if passed + len(failed) + len(skipped) == 0 and not parse_errors:
        parse_errors.append(f"checkov evaluated no resources in {stacks_dir}")
    return CheckovReport(sorted(stacks), passed, failed, skipped, parse_errors, version)

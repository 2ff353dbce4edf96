"""Record what a previous release of gkeml synthesized, for tests/test_upgrade.py (docs/upgrading.md).

    python scripts/upgrade_golden.py 0.1.0            # the commit of a release before tags: see COMMITS
    python scripts/upgrade_golden.py 0.2.0 --commit v0.2.0

Extracts the release's source at COMMIT (git archive, nothing checked out), runs ITS main.py with this
virtualenv's framework over tests/fixtures/upgrade/RELEASE/before (environment files as that release read
them, and the bootstrap files in its bootstrap/ with the release's bootstrap app), and writes the state
address of every resource of every stack to tests/golden/upgrade/RELEASE.json (addresses only). The test
synthesizes tests/fixtures/upgrade/RELEASE/after with today's code and checks that each of those addresses
is still declared, moved by a `moved` block, or destroyed on purpose.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gkeml.release import RELEASES, resource_addresses  # noqa: E402

# releases made before gkeml had tags: the commit each one is
COMMITS = {"0.1.0": "36e81db8a1b50d3f036bf87ddb9a352c31ec4e7a"}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("release", choices=RELEASES[:-1], help="the previous release to record")
    parser.add_argument("--commit", help="its commit or tag (default: COMMITS, else vRELEASE)")
    args = parser.parse_args(argv)
    commit = args.commit or COMMITS.get(args.release, f"v{args.release}")
    before = ROOT / "tests" / "fixtures" / "upgrade" / args.release / "before"
    with tempfile.TemporaryDirectory(prefix=f"gkeml-{args.release}-") as scratch:
        source = Path(scratch) / "src"
        archive = subprocess.run(["git", "archive", "--format=tar", commit], cwd=ROOT, capture_output=True, check=True)
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(source, filter="data")
        out = Path(scratch) / "cdktf.out"
        env = {
            **os.environ,
            "PYTHONPATH": str(source),
            "GKEML_ENVIRONMENTS": str(before),
            "CDKTF_OUTDIR": str(out),
            "GKEML_QUIET": "1",
        }
        apps = [(source, out)]
        if (before / "bootstrap").is_dir():  # the bootstrap app: its state holds the state bucket
            env["GKEML_BOOTSTRAP"] = str(before / "bootstrap")
            apps.append((source / "bootstrap", Path(scratch) / "bootstrap.out"))
        stacks = {}
        for cwd, outdir in apps:
            done = subprocess.run(
                [sys.executable, "main.py"],
                cwd=cwd,
                env={**env, "CDKTF_OUTDIR": str(outdir)},
                capture_output=True,
                text=True,
            )
            if done.returncode != 0:
                print(done.stderr, file=sys.stderr)
                return done.returncode
            for path in sorted(outdir.glob("stacks/*/cdk.tf.json")):
                stacks[path.parent.name] = sorted(resource_addresses(json.loads(path.read_text())))
    golden = ROOT / "tests" / "golden" / "upgrade" / f"{args.release}.json"
    record = {
        "release": args.release,
        "commit": subprocess.run(
            ["git", "rev-parse", f"{commit}^{{commit}}"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip(),
        "environments": str(before.relative_to(ROOT)),
        "regenerate": f"python scripts/upgrade_golden.py {args.release}",
        "stacks": stacks,
    }
    golden.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {golden.relative_to(ROOT)}: {sum(map(len, stacks.values()))} addresses in {len(stacks)} stacks")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

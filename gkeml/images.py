"""Where CI pushes an image: each environment whose registry has its repository and a push identity.

    python -m gkeml.images --repository training --image trainer [--environments DIR]

prints a JSON list of ``{"environment", "registry", "image"}``, the image's full name in each (the matrix of
``.github/workflows/images.yml``; the tag is added by the workflow). Exit 2 on a configuration
error, with one ``file:line: field: message`` line per problem.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gkeml.config.model import Environment

IMAGE_NAME = r"^[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*$"


def push_targets(envs: list[Environment], repository: str, image: str) -> list[dict[str, str]]:
    """The environments ``image`` is pushed to (in the order given) and its name in each."""
    targets = []
    for env in envs:
        registry = env.registry
        if registry is None or registry.pusher is None or registry.repository(repository) is None:
            continue
        targets.append(
            {
                "environment": env.name,
                "registry": registry.host,
                "image": f"{registry.host}/{env.project.id}/{repository}/{image}",
            }
        )
    return targets


def main(argv: list[str] | None = None) -> int:
    """Print the push targets as JSON; exit 2 on a config error or a bad argument."""
    from gkeml.config import ConfigError
    from gkeml.config.loader import read_budget
    from gkeml.environments import deploy_order, load_environments, not_bootstrapped_warning, split_bootstrapped

    parser = argparse.ArgumentParser(
        prog="python -m gkeml.images",
        description="List the Artifact Registry repositories CI pushes an image to: every environment whose "
        "registry has REPOSITORY and an image-push identity (registry.pusher), in deploy order, as "
        "JSON [{environment, registry, image}].",
    )
    parser.add_argument("--repository", required=True, help="repository name, e.g. training")
    parser.add_argument("--image", required=True, help="image name inside the repository, e.g. trainer")
    parser.add_argument("--environments", default="environments", help="directory of <env>.yaml files")
    parser.add_argument(
        "--bootstrap",
        default="bootstrap",
        help="directory of the bootstrap files (an environment without one has no push identity yet and is left out)",
    )
    args = parser.parse_args(argv)
    if not re.fullmatch(IMAGE_NAME, args.image):
        print(
            f"{parser.prog}: error: --image: {args.image!r} is not an image name (lowercase letters, digits, "
            "'.', '_', '-', '/')",
            file=sys.stderr,
        )
        return 2
    try:
        with read_budget():
            envs, waiting = split_bootstrapped(deploy_order(load_environments(args.environments)), args.bootstrap)
    except ConfigError as exc:
        print("\n".join(exc.lines(parser.prog)), file=sys.stderr)
        return 2
    for env in waiting:
        print(not_bootstrapped_warning(env, args.bootstrap), file=sys.stderr)
    print(json.dumps(push_targets(envs, args.repository, args.image)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

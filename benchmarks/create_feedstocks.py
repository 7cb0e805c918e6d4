"""Feedstock creation against the fakes: N recipes, every call delayed (issue 17).

Not a test: prints the wall time of one creation run, the API and git calls per recipe
(and the API's mutations among them), and the installation tokens minted per recipe
with their lifetimes. The render job (the stand-in conda-smithy; the real one is not
installable from PyPI) is not timed. The credentials come from the broker on the env
backend (App JWTs signed with a key file, no vault), and the client's pacing for
GitHub's secondary limits runs on a fake clock, so the wall time leaves it out: in
production each client keeps its mutations a second apart (``api_mutations_per_recipe``
says how many there are). ``python3 dev.py bench`` runs it (docs/performance.md).

    .venv/bin/python benchmarks/create_feedstocks.py --recipes 20 --latency 0.05
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.creation.world import creation_world  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipes", type=int, default=20)
    parser.add_argument("--latency", type=float, default=0.05)
    args = parser.parse_args()
    recipes = {
        f"pkg{n:02d}": ("recipe.yaml", f"package:\n  name: pkg{n:02d}\n")
        for n in range(args.recipes)
    }
    with tempfile.TemporaryDirectory() as tmp, creation_world(Path(tmp), recipes=recipes) as world:
        world.render()
        world.github.reset_counters()
        world.github.faults.latency = args.latency
        world.server.faults.latency = args.latency
        before = set(world.github.tokens)
        started = time.monotonic()
        report = world.run(only=tuple(recipes), max_recipes=args.recipes)
        wall = time.monotonic() - started
        minted = [
            t for k, t in world.github.tokens.items() if k not in before and t.installation_id
        ]
        lifetimes = [(t.revoked_at - t.created_at) for t in minted if t.revoked_at is not None]
        statuses = sorted({r.status for r in report.results})
        assert len(report.results) == args.recipes, len(report.results)
        print(
            json.dumps(
                {
                    "recipes": args.recipes,
                    "latency_s": args.latency,
                    "statuses": statuses,
                    "wall_s": round(wall, 1),
                    "api_calls_per_recipe": round(world.github.call_count / args.recipes, 1),
                    "api_mutations_per_recipe": round(
                        sum(
                            world.github.count(method)
                            for method in ("POST", "PUT", "PATCH", "DELETE")
                        )
                        / args.recipes,
                        1,
                    ),
                    "git_calls_per_recipe": round(world.server.call_count / args.recipes, 1),
                    "installation_tokens_per_recipe": round(len(minted) / args.recipes, 2),
                    "all_revoked": all(t.revoked for t in minted),
                    "token_lifetime_s": {
                        "median": round(statistics.median(lifetimes), 2),
                        "max": round(max(lifetimes), 2),
                    },
                    "all_repositories_tokens": sum(1 for t in minted if t.repositories is None),
                },
                indent=1,
            )
        )


if __name__ == "__main__":
    main()

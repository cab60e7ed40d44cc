"""How long does the command line take to answer? Prints a table and writes JSON.

Each case runs in a fresh interpreter, several times, against a fresh home with a few posts
(so `status` and `variant add` open a real SQLite database); the table shows the median and
the fastest run. The floor is what Python and the libraries take to import, measured the same
way. Bytecode is cached as on a user's machine (a private PYTHONPYCACHEPREFIX, one warm-up run
per case), even where PYTHONDONTWRITEBYTECODE is set: compiling OmniPost's own modules on every
run would add 60 ms that no user pays twice.

    python tests/benchmarks/cli_startup.py [--runs 7] [--json cli_startup.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def timed(args: list[str], env: dict[str, str], runs: int) -> list[float]:
    subprocess.run(args, env=env, capture_output=True, check=False)  # warm-up: writes bytecode
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(args, env=env, capture_output=True, check=False)
        times.append(time.perf_counter() - started)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", default="cli_startup.json", help="where to write the figures")
    args = parser.parse_args()

    home = tempfile.mkdtemp(prefix="omnipost-bench-cli-")
    env = {**os.environ, "OMNIPOST_HOME": home, "OMNIPOST_TIMEZONE": "UTC",
           "PYTHONPYCACHEPREFIX": os.path.join(home, "bytecode")}  # fmt: skip
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    omnipost = [sys.executable, "-m", "omnipost_tui"]
    setup = [
        ["brand", "add", "Acme"],
        ["post", "add", "--brand", "Acme", "--title", "Launch", "--text", "We launch today"],
    ]
    for command in setup:
        subprocess.run(omnipost + command, env=env, check=True, capture_output=True)
    account = ["--platform", "facebook", "--external-id", "1001", "--name", "Acme Page"]
    subprocess.run(
        [*omnipost, "account", "add", "--brand", "Acme", *account, "--token-stdin"],
        env=env,
        input=b"bench-token",
        check=True,
        capture_output=True,
    )
    completion = {**env, "_OMNIPOST_COMPLETE": "bash_complete", "COMP_CWORD": "2"}
    cases = [
        ("python alone (floor)", [sys.executable, "-c", "pass"], env),
        ("import click (floor)", [sys.executable, "-c", "import click"], env),
        ("import sqlalchemy.orm (floor)", [sys.executable, "-c", "import sqlalchemy.orm"], env),
        ("import huey (floor)", [sys.executable, "-c", "import huey"], env),
        ("omnipost --help", [*omnipost, "--help"], env),
        (
            "TAB: omnipost variant <TAB>",
            omnipost,
            {**completion, "COMP_WORDS": "omnipost variant "},
        ),
        ("omnipost status", [*omnipost, "status"], env),
        ("omnipost variant list", [*omnipost, "variant", "list"], env),
        (
            "omnipost variant add",
            [
                *omnipost,
                "variant",
                "add",
                "--post",
                "1",
                "--account",
                "1",
                "--at",
                "+1d",
            ],
            env,
        ),
    ]
    rows = []
    for name, command, case_env in cases:
        times = timed(command, case_env, args.runs)
        rows.append({"case": name, "median_ms": statistics.median(times) * 1000,
                     "min_ms": min(times) * 1000, "runs": args.runs})  # fmt: skip
    width = max(len(r["case"]) for r in rows)
    print(f"{'case'.ljust(width)}  median   fastest")
    for r in rows:
        print(f"{r['case'].ljust(width)}  {r['median_ms']:5.0f} ms  {r['min_ms']:5.0f} ms")
    with open(args.json, "w", encoding="utf-8") as out:
        json.dump({"python": sys.version.split()[0], "cpus": os.cpu_count(), "rows": rows}, out,
                  indent=2)  # fmt: skip
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

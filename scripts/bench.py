"""``make bench``: synth speed and memory of both frameworks, measured side by side.

This is a benchmark, not a test: it prints numbers and writes them to a JSON file;
it never fails on a slow result. Every measurement runs in a fresh subprocess with
that framework's virtualenv python (``.venv`` for cdktf, ``.venv-cdktn`` for
CDK Terrain) and is reported as the median of ``--runs`` runs. Runs are
interleaved (run 1 of every measurement on every framework, then run 2, ...), so
load from other work on the machine hits both frameworks alike.

Measurements, each "before" (``GKEML_EAGER_PROVIDERS=1``: the provider packages'
eager ``__init__``) and "after" (the lazy import in ``gkeml/framework.py``):

* floor: a process that imports only the framework core and exactly the provider
  resource modules a synth of all environments uses (found by a first synth);
* synth: ``python main.py`` for all environments into a temporary ``CDKTF_OUTDIR``;
* peak memory of the whole process tree (python + the jsii node processes):
  the sum of VmRSS of the process and all its descendants, polled every ~20 ms;
* jsii package cache: one lazy synth with an empty cache directory ("before",
  cold) against the default warm cache ("after");
* ``--with-tests``: ``make test`` wall time (minutes per framework, off by default).

Wall time, CPU time (user + system of the whole tree) and peak memory are kept for
every run in the JSON file, with the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gkeml.cli.output import table  # noqa: E402  (pure Python: no framework import here)

VENVS = {"cdktf": ROOT / ".venv", "cdktn": ROOT / ".venv-cdktn"}
POLL_SECONDS = 0.02
TREE_RESCAN_POLLS = 10  # look for new descendants every 10th poll (~200 ms); RSS every poll
MEASUREMENTS = ("floor", "synth", "synth_cold_cache", "make_test")
LABELS = {
    "floor": "import providers used (floor)",
    "synth": "synth all environments",
    "synth_cold_cache": "synth, jsii cache cold -> warm",
    "make_test": "make test",
}

# Runs inside the framework's venv: a full synth that records the provider
# modules it imported (even if the synth itself fails), as JSON in argv[1].
COLLECT_MODULES = """
import json, sys
from gkeml.synth import main
try:
    sys.exit(main())
finally:
    names = sorted(m for m in list(sys.modules)
                   if m.count(".") == 1 and m.split(".")[0].rsplit("_", 1)[-1] in ("google", "kubernetes", "helm")
                   and m.split(".")[0].startswith(("cdktf_cdktf_provider_", "cdktn_provider_"))
                   and not m.endswith("._jsii"))
    with open(sys.argv[1], "w") as f:
        json.dump(names, f)
"""

# Runs inside the framework's venv: the floor. Imports the framework core (via the
# seam) and each provider module through the seam's public google()/kubernetes()/
# helm(), so the lazy/eager switch (GKEML_EAGER_PROVIDERS) applies exactly as in a synth.
IMPORT_FLOOR = """
import json, sys
import gkeml.framework as seam
for name in json.loads(sys.argv[1]):
    package, module = name.split(".")
    getattr(seam, package.rsplit("_", 1)[-1])(module)
"""


@dataclass
class Run:
    """One measured subprocess: wall and CPU seconds, peak tree memory, exit code."""

    wall_s: float
    cpu_s: float
    peak_mb: float
    returncode: int
    error: str = ""


@dataclass
class Series:
    """Repeated runs of one measurement variant; ``median`` over the successful ones."""

    runs: list[Run] = field(default_factory=list)

    def ok(self) -> list[Run]:
        """The runs that exited 0."""
        return [r for r in self.runs if r.returncode == 0]

    def median(self, metric: str) -> float | None:
        """Median of ``wall_s``/``cpu_s``/``peak_mb`` over successful runs (None if none succeeded)."""
        values = [getattr(r, metric) for r in self.ok()]
        return statistics.median(values) if values else None


class TreeMemorySampler(threading.Thread):
    """Polls /proc for the summed VmRSS of a process and all its descendants; keeps the max."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.root = pid
        self.peak_kb = 0
        self._done = threading.Event()

    def run(self) -> None:
        tree = {self.root}
        polls = 0
        while not self._done.is_set():
            if polls % TREE_RESCAN_POLLS == 0:
                tree = _descendants(self.root)
            self.peak_kb = max(self.peak_kb, sum(_rss_kb(p) for p in tree))
            polls += 1
            self._done.wait(POLL_SECONDS)

    def stop(self) -> float:
        """Stop polling; the peak in MB (10^6 bytes)."""
        self._done.set()
        self.join()
        return self.peak_kb * 1024 / 1e6


def _descendants(root: int) -> set[int]:
    """``root`` and every live process below it (from the ppid field of /proc/<pid>/stat)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        found.add(pid)
        todo.extend(children.get(pid, []))
    return found


def _rss_kb(pid: int) -> int:
    """VmRSS of a process in kB (0 if it has exited)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure(argv: list[str], env: dict[str, str], cwd: Path = ROOT) -> Run:
    """Run ``argv`` to completion: wall time, CPU of the waited-for tree, peak tree RSS."""
    with tempfile.TemporaryFile(mode="w+") as stderr:
        start = time.monotonic()
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
        sampler = TreeMemorySampler(proc.pid)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - start
        peak = sampler.stop()
        proc.returncode = os.waitstatus_to_exitcode(status)
        stderr.seek(0)
        lines = [line.strip() for line in stderr.read().splitlines() if line.strip()]
    error = lines[-1][:300] if proc.returncode and lines else ""
    return Run(round(wall, 3), round(usage.ru_utime + usage.ru_stime, 3), round(peak, 1), proc.returncode, error)


def framework_env(framework: str, *, eager: bool, cache_root: str | None = None) -> dict[str, str]:
    """Environment for a subprocess of one framework; ``eager`` is the "before" import."""
    env = {k: v for k, v in os.environ.items() if k not in ("GKEML_EAGER_PROVIDERS", "JSII_RUNTIME_PACKAGE_CACHE_ROOT")}
    env.update(GKEML_CDK=framework, GKEML_QUIET="1", JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20")
    env["PYTHONPATH"] = str(ROOT)
    if eager:
        env["GKEML_EAGER_PROVIDERS"] = "1"
    if cache_root:
        env["JSII_RUNTIME_PACKAGE_CACHE_ROOT"] = cache_root
    return env


def python(framework: str) -> str:
    """The framework's venv python (exits with a hint if the venv is missing)."""
    exe = VENVS[framework] / "bin" / "python"
    if not exe.exists():
        raise SystemExit(f"{exe} missing: run `make install CDK={framework}`")
    return str(exe)


def collect_modules(framework: str, work: Path) -> tuple[list[str], str]:
    """Provider modules a synth of all environments imports (and the synth's error, if any)."""
    listing = work / f"modules-{framework}.json"
    env = framework_env(framework, eager=False)
    env["CDKTF_OUTDIR"] = str(_outdir(work / f"collect-{framework}"))
    run = measure([python(framework), "-c", COLLECT_MODULES, str(listing)], env)
    modules = json.loads(listing.read_text()) if listing.exists() else []
    if not modules:
        raise SystemExit(f"{framework}: the first synth imported no provider module: {run.error or 'no error'}")
    return modules, run.error


def _outdir(parent: Path) -> Path:
    """``<parent>/cdktf.out`` with ``parent`` created (the synth stages next to it)."""
    parent.mkdir(parents=True, exist_ok=True)
    return parent / "cdktf.out"


def plan(frameworks: list[str], modules: dict[str, list[str]], work: Path, args) -> list[tuple]:
    """Every (measurement, variant, framework, argv, env, cwd) of one round, frameworks interleaved."""
    steps = []
    for measurement in MEASUREMENTS:
        if measurement == "make_test" and not args.with_tests:
            continue
        for variant in ("before", "after"):
            for framework in frameworks:
                eager = variant == "before" and measurement in ("floor", "synth", "make_test")
                cold = variant == "before" and measurement == "synth_cold_cache"
                if measurement == "synth_cold_cache" and variant == "after":
                    continue  # warm cache "after" is the lazy synth measured above
                cache = str(work / f"cold-cache-{framework}") if cold else None
                env = framework_env(framework, eager=eager, cache_root=cache)
                if measurement == "floor":
                    argv = [python(framework), "-c", IMPORT_FLOOR, json.dumps(modules[framework])]
                elif measurement == "make_test":
                    argv = ["make", "--no-print-directory", "test", f"CDK={framework}"]
                    if args.pytest_args:
                        argv.append(f"PYTEST_ARGS={args.pytest_args}")
                else:
                    env["CDKTF_OUTDIR"] = str(_outdir(work / f"out-{framework}"))
                    argv = [python(framework), "main.py"]
                steps.append((measurement, variant, framework, argv, env, cache))
    return steps


def run_all(frameworks: list[str], work: Path, args) -> dict:
    """Collect the modules, then run every measurement ``--runs`` times, interleaved."""
    results: dict = {fw: {"modules": [], "collect_error": "", "series": {}} for fw in frameworks}
    for fw in frameworks:
        log(f"{fw}: first synth (warms caches, lists the provider modules used)")
        modules, error = collect_modules(fw, work)
        results[fw]["modules"], results[fw]["collect_error"] = modules, error
        log(f"{fw}: {len(modules)} provider modules" + (f"; synth FAILED: {error}" if error else ""))
    modules = {fw: results[fw]["modules"] for fw in frameworks}
    steps = plan(frameworks, modules, work, args)
    for round_no in range(1, max(args.runs, args.test_runs) + 1):
        order = steps if round_no % 2 else _reverse_frameworks(steps)
        for measurement, variant, fw, argv, env, cache in order:
            limit = args.test_runs if measurement == "make_test" else args.runs
            if round_no > limit:
                continue
            if cache:
                shutil.rmtree(cache, ignore_errors=True)
                Path(cache).mkdir(parents=True)
            run = measure(argv, env)
            series = results[fw]["series"].setdefault(measurement, {}).setdefault(variant, Series())
            series.runs.append(run)
            status = "ok" if run.returncode == 0 else f"FAILED ({run.returncode}): {run.error}"
            log(f"round {round_no}: {fw} {measurement} {variant}: {run.wall_s:.1f}s {run.peak_mb:.0f}MB {status}")
    return results


def _reverse_frameworks(steps: list[tuple]) -> list[tuple]:
    """The same steps with the framework order flipped inside each (measurement, variant)."""
    out, group = [], []
    for step in steps + [None]:
        if group and (step is None or step[:2] != group[0][:2]):
            out.extend(reversed(group))
            group = []
        if step is not None:
            group.append(step)
    return out


def report(results: dict) -> tuple[str, dict]:
    """The printed table and the verdicts (synth within 1.3x of the floor, per framework)."""
    rows, verdicts = [], {}
    for fw, data in results.items():
        series = data["series"]

        def med(measurement: str, variant: str, metric: str, series: dict = series) -> float | None:
            s = series.get(measurement, {}).get(variant)
            return s.median(metric) if s else None

        for measurement in MEASUREMENTS:
            if measurement not in series:
                continue
            for metric, unit in (("wall_s", "s"), ("cpu_s", "s cpu"), ("peak_mb", "MB peak")):
                before = med(measurement, "before", metric)
                after = (
                    med(measurement, "after", metric)
                    if measurement != "synth_cold_cache"
                    else med("synth", "after", metric)
                )
                floor = med("floor", "after", metric)
                compares = measurement != "make_test"  # a test run is not a synth: no floor ratio
                ratio = f"{after / floor:.2f}x" if compares and after is not None and floor else ""
                rows.append(
                    (
                        fw,
                        f"{LABELS[measurement]} [{unit}]",
                        _fmt(before, series, measurement, "before"),
                        _fmt(after, series, measurement, "after"),
                        ratio,
                    )
                )
        verdicts[fw] = {}
        for metric in ("wall_s", "cpu_s"):
            synth, floor = med("synth", "after", metric), med("floor", "after", metric)
            verdicts[fw][metric] = {
                "synth_over_floor": round(synth / floor, 3) if synth and floor else None,
                "within_1_3x": bool(synth and floor and synth <= 1.3 * floor),
            }
    headers = ("framework", "measurement", "before", "after", "after / floor")
    return table(rows, headers, "llrrr"), verdicts


def _fmt(value: float | None, series: dict, measurement: str, variant: str) -> str:
    if value is not None:
        return f"{value:.2f}" if value < 100 else f"{value:.0f}"
    if measurement == "synth_cold_cache" and variant == "after":
        measurement = "synth"
    return "FAILED" if series.get(measurement, {}).get(variant) else ""


def log(message: str) -> None:
    """Progress on stderr."""
    print(f"bench: {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run the benchmark, print the table, write the JSON."""
    parser = argparse.ArgumentParser(
        prog="scripts/bench.py",
        description=__doc__.split("\n\n")[0] + " Prints a table and writes the numbers as JSON.",
        epilog="Example: make bench BENCH_ARGS='--runs 5 --with-tests'. Numbers are medians; "
        "'after / floor' divides the lazy-import value by the lazy floor of the same framework.",
    )
    parser.add_argument(
        "--runs", type=int, default=3, help="runs per measurement, median reported (default: %(default)s)"
    )
    parser.add_argument(
        "--frameworks", default="cdktf,cdktn", help="comma-separated, from cdktf,cdktn (default: %(default)s)"
    )
    parser.add_argument(
        "--with-tests", action="store_true", help="also time `make test` per framework, eager and lazy (takes minutes)"
    )
    parser.add_argument(
        "--test-runs", type=int, default=1, help="runs of `make test` with --with-tests (default: %(default)s)"
    )
    parser.add_argument(
        "--pytest-args", default="", help="PYTEST_ARGS passed to `make test` (default: the whole suite)"
    )
    parser.add_argument("--out", default="bench.json", help="JSON output file (default: %(default)s)")
    args = parser.parse_args(argv)
    frameworks = [f.strip() for f in args.frameworks.split(",") if f.strip()]
    unknown = [f for f in frameworks if f not in VENVS]
    if unknown or not frameworks:
        parser.error(f"--frameworks: {', '.join(unknown) or 'empty'}: allowed values are {', '.join(VENVS)}")
    if args.runs < 1 or args.test_runs < 1:
        parser.error("--runs and --test-runs: must be at least 1")
    for fw in frameworks:
        python(fw)

    load_before = os.getloadavg()
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="gkeml-bench-") as tmp:
        results = run_all(frameworks, Path(tmp), args)
    text, verdicts = report(results)
    print(text)
    for fw, by_metric in verdicts.items():
        for metric, v in by_metric.items():
            ratio = f"{v['synth_over_floor']:.2f}x" if v["synth_over_floor"] else "n/a"
            within = "within" if v["within_1_3x"] else "NOT within"
            print(f"{fw}: synth all environments = {ratio} the floor in {metric} ({within} 1.3x)")
    document = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "seconds": round(time.time() - started, 1),
        "machine": {
            "cpus": os.cpu_count(),
            "loadavg_before": load_before,
            "loadavg_after": os.getloadavg(),
            "platform": platform.platform(),
        },
        "runs": args.runs,
        "verdicts": verdicts,
        "frameworks": {
            fw: {
                "modules": data["modules"],
                "collect_error": data["collect_error"],
                "measurements": {
                    m: {
                        v: {
                            "median": {k: s.median(k) for k in ("wall_s", "cpu_s", "peak_mb")},
                            "runs": [asdict(r) for r in s.runs],
                        }
                        for v, s in variants.items()
                    }
                    for m, variants in data["series"].items()
                },
            }
            for fw, data in results.items()
        },
    }
    Path(args.out).write_text(json.dumps(document, indent=2) + "\n")
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The figures of the reliability suite: run it once, count what it tried and what held.

Runs the fuzzing, fault, isolation, concurrency, demo-signal and REST tests against their
real demo lakes (as CI does), reading pytest's JUnit report for the tests and hypothesis'
statistics for the generated cases. Writes benchmarks/results/reliability.json; table.py
puts the figures into README.md's Reliability section.

    python benchmarks/reliability.py [--out FILE]

Needs root for the tests that mount a small disk or act as another local user (they are
counted as skipped otherwise).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import common

REPO = Path(__file__).resolve().parent.parent
SUITE = {
    "generated input": ["tests/test_fuzz.py"],
    "faults": ["tests/test_faults.py", "tests/test_upload_faults.py"],
    "other local users": ["tests/test_isolation.py"],
    "concurrency": ["tests/test_concurrency.py"],
    "signals to the demo": ["tests/test_demo.py"],
    "REST: bad input, secrets, transfers": [
        "tests/test_search.py",
        "tests/test_files.py",
        "tests/test_reading.py",
        "tests/test_transfers.py",
        "tests/test_auth.py",
        "tests/test_bad_input.py",
    ],
    # after the REST group: its rules and uploads change what the lake holds, which those tests read
    "uploads and rules: refusals, cut uploads": ["tests/test_upload.py", "tests/test_rules.py"],
}


def examples(output: str) -> dict[str, int]:
    """Per hypothesis test: the examples it ran (passing + failing), from --hypothesis-show-statistics."""
    found: dict[str, int] = {}
    current = None
    for line in output.splitlines():
        if re.match(r"^\S+\.py::\S+:$", line.strip()):
            current = line.strip()[:-1]
        m = re.search(r"(\d+) passing(?: examples?)?, (\d+) failing", line)
        if current and m:
            found[current] = found.get(current, 0) + int(m.group(1)) + int(m.group(2))
    return found


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(common.RESULTS / "reliability.json"))
    args = p.parse_args(argv)

    report = Path(tempfile.mkdtemp(prefix="odlake-reliability-")) / "junit.xml"
    files = [f for group in SUITE.values() for f in group]
    t = time.perf_counter()
    command = [sys.executable, "-m", "pytest", *files, "-q", "-p", "no:cacheprovider", f"--junitxml={report}"]
    run = subprocess.run([*command, "--hypothesis-show-statistics"], cwd=REPO, capture_output=True, text=True)
    elapsed = time.perf_counter() - t
    output = report.with_name("pytest.log")
    output.write_text(run.stdout + run.stderr)
    print(run.stdout[-2000:])
    print(f"pytest's whole output: {output}")
    cases = ET.parse(report).getroot().iter("testcase")
    groups = {name: {"tests": 0, "passed": 0, "failed": 0, "skipped": 0} for name in SUITE}
    for case in cases:
        path = case.get("classname", "").replace(".", "/") + ".py"
        group = next((g for g, fs in SUITE.items() if path in fs), None)
        if group is None:
            continue
        g = groups[group]
        g["tests"] += 1
        if case.find("skipped") is not None:
            g["skipped"] += 1
        elif case.find("failure") is not None or case.find("error") is not None:
            g["failed"] += 1
        else:
            g["passed"] += 1
    generated = examples(run.stdout)
    results = {
        "machine": common.machine(),
        "command": "python benchmarks/reliability.py",
        "seconds": round(elapsed),
        "groups": groups,
        "generated_cases": generated,
        "generated_cases_total": sum(generated.values()),
        "failed": sum(g["failed"] for g in groups.values()),
    }
    common.write(args.out, results)
    return run.returncode


if __name__ == "__main__":
    sys.exit(main())

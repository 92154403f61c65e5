"""PFNs composed for a dataset whose every copy is whole, without a lake: equal to what Rucio's own protocol
code makes, and refused wherever Rucio could have made them otherwise (compose_cases.py, in a process of
its own). test_reading.py holds them to a real ``list_replicas``."""

import json
import os
import subprocess
import sys
from pathlib import Path

import compose_cases
import pytest

CASES = sorted(name for name in vars(compose_cases) if name.startswith("case_"))


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUCIO")}  # Rucio's client mode
    done = subprocess.run(
        [sys.executable, str(Path(compose_cases.__file__)), str(tmp_path_factory.mktemp("state"))],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.parametrize("case", CASES)
def test_compose(outcomes, case):
    assert outcomes[case] is None, outcomes[case]

"""The sync state machine (tests/test_sync_model.py) on its long Hypothesis
profile: many more examples and longer runs of submit / sync / drop /
duplicate / reorder / crash than CI runs. Prints pytest's summary; exits
non-zero when the model finds a disagreement."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

if __name__ == "__main__":
    env = dict(os.environ, HYPOTHESIS_PROFILE="long")
    sys.exit(
        subprocess.call(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_sync_model.py"],
            cwd=ROOT,
            env=env,
        )
    )

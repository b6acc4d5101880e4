"""Test-wide settings, loaded before anything is collected (notebooks included).

The committed notebook outputs come from the offline profile, so every test run uses it:
nbval's kernels inherit this process's environment. Tests that need the real models start
their own subprocess with the Hub settings (tests/test_hub.py).
"""

import os

os.environ["COURSE_MODELS"] = "offline"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

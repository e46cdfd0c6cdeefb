"""Puts the policy pack folder on sys.path: `policy/` is a Pulumi policy pack, not a package."""

import sys
from pathlib import Path

POLICY_PACK = Path(__file__).resolve().parents[2] / "policy"

if str(POLICY_PACK) not in sys.path:
    sys.path.insert(0, str(POLICY_PACK))

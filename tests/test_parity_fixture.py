"""The official parity tests skip where the fixture is absent (a clone without ../shared); CI must not."""

from __future__ import annotations

import os

import pytest
from parity_utils import CASE_PATHS, FIXTURE_DIR


def test_fixture_is_present_in_ci() -> None:
    """In CI the shared fixture sits beside the clone, so tests/test_official_parity.py really runs."""
    if not CASE_PATHS and not os.environ.get("CI"):
        pytest.skip(f"no case_*.pt in {FIXTURE_DIR}; set HODOR_PARITY_FIXTURE to run the parity tests")
    assert CASE_PATHS, f"no case_*.pt in parity fixture {FIXTURE_DIR}; set HODOR_PARITY_FIXTURE"
    assert (FIXTURE_DIR / "official_state_dict.tsv").is_file()

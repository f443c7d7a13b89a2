"""Benchmarks (runnable scripts, not tests): `python bench/routing.py`, `python bench/intake.py`,
`python bench/soak.py`; each prints ratios against a baseline measured in the same run."""

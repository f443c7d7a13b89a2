"""`python -m worker`: see `worker/main.py`."""

from worker.main import main

raise SystemExit(main())

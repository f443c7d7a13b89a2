"""`python -m gateway`: the product's command line (see `gateway/cli.py`)."""

from gateway.process.cli import main

raise SystemExit(main())

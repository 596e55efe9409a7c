"""`python -m staticgraph …`: the same command line as the `staticgraph` console script."""
import sys

from staticgraph.cli import main

if __name__ == "__main__":
    sys.exit(main())

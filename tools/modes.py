"""Forward vs reverse mode: what a full Jacobian costs in each (see staticgraph.compare.modes).

Run: python tools/modes.py [--quick] [--out DIR] [--no-plot]   (the same as: staticgraph modes)
"""
import argparse
import sys

from staticgraph.compare import modes


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=modes.__doc__.splitlines()[0])
    modes.add_arguments(parser)
    return modes.run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())

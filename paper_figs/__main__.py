"""``python -m paper_figs ...`` forwards to ``icl-theory figures ...``."""
import sys

from paper_figs.cli import main

if __name__ == "__main__":
    sys.exit(main(["figures", *sys.argv[1:]]))

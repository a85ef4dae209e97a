"""`python -m simulator` is the same as the `silocarbon` command."""

from simulator.cli import entry

if __name__ == "__main__":
    entry()

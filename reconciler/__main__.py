"""`python -m reconciler` runs the same CLI as `insomnia-sso`."""

from reconciler.cli.process import run

if __name__ == "__main__":
    run()

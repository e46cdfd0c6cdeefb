"""`python -m reconciler` runs the same CLI as `insomnia-sso`."""

from reconciler.cli import main

if __name__ == "__main__":
    main(prog_name="insomnia-sso")

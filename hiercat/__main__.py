"""`python -m hiercat`: the same as the `hiercat` command."""

from hiercat.cli import main

main()

"""`python -m pmfast ...` is the `pmfast` command line."""
from pmfast.cli import main

if __name__ == "__main__":
    main()

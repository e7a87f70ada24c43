"""hello [NAME...]: greet everyone named, or the world."""

import argparse
import sys

from hello_lib import greet


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="hello", description="Say hello.")
    parser.add_argument("names", nargs="*", help="who to greet")
    parser.add_argument("--where", action="store_true", help="print where hello is installed")
    args = parser.parse_args(argv)
    if args.where:
        print(sys.prefix)
        return 0
    for name in args.names or ["world"]:
        print(greet(name))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""hello-c: the CRC-32 of its arguments, computed by zlib through a C extension."""
import sys

from ._crc import crc32


def main() -> None:
    for arg in sys.argv[1:] or ["hello"]:
        print(f"{arg} {crc32(arg.encode())}")

import contextlib
import io
import unittest

from hello.cli import main


def run(*args):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(list(args))
    return code, out.getvalue()


class CLITest(unittest.TestCase):
    def test_greets_the_world(self):
        self.assertEqual(run(), (0, "Hello, world!\n"))

    def test_greets_everyone(self):
        self.assertEqual(run("Ada", "Grace"), (0, "Hello, Ada!\nHello, Grace!\n"))

import shutil
import subprocess
import unittest


class ConsoleScriptTest(unittest.TestCase):
    def test_console_script_runs(self):
        exe = shutil.which("hello")
        self.assertTrue(exe, "the console script is installed")
        out = subprocess.run([exe, "GoPythonGo"], check=True, capture_output=True, text=True).stdout
        self.assertEqual(out, "Hello, GoPythonGo!\n")

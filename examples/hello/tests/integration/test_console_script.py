import shutil
import subprocess


def test_console_script_runs():
    exe = shutil.which("hello")
    assert exe, "the console script is installed"
    out = subprocess.run([exe, "GoPythonGo"], check=True, capture_output=True, text=True).stdout
    assert out == "Hello, GoPythonGo!\n"

# The extension is declared here: setuptools takes ext_modules from setup.py only.
from setuptools import Extension, setup

setup(ext_modules=[Extension("hello_c._crc", ["src/hello_c/_crc.c"], libraries=["z"])])

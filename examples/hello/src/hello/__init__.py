"""The example application of GoPythonGo."""

__version__ = "1.0.0"

"""Greetings, as a library."""

__version__ = "1.2.0"


def greet(name: str, punctuation: str = "!") -> str:
    """Return a greeting for name."""
    name = name.strip() or "world"
    return f"Hello, {name}{punctuation}"

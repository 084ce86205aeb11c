"""salatag: cooperation-sector tagging and quote splitting for Kazakh-language news."""

__version__ = "0.1.0"

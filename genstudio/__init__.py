"""GenStudio: a local generative art studio. Everything runs and trains on the user's machine."""

__version__ = "0.1.0"

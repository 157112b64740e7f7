"""exotwin: exosome-mediated communication in breast cancer, made computable."""

__version__ = "0.1.0"

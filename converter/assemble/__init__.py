"""Assembly: fragments from every reader -> one Bundle per patient."""
from .bundle import assemble

__all__ = ["assemble"]

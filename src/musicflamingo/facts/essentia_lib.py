"""essentia (AGPL-3.0), imported once with its console logging off.

`import essentia.standard` builds a Python class for each of its ~250 algorithms by
instantiating every one (about a second, more than all our other imports together); here
the module is imported with an empty algorithm list and each class is built by essentia's
own factory the first time it is asked for.
"""

from __future__ import annotations

import functools
import sys


@functools.cache
def standard():
    """The `essentia.standard` module, quiet, its algorithm classes built on first use."""
    import essentia
    from essentia import _essentia

    essentia.log.infoActive = False
    essentia.log.warningActive = False
    if "essentia.standard" in sys.modules:  # someone imported it whole already
        return sys.modules["essentia.standard"]
    every = _essentia.keys
    # the import's class loop sees only what its Python FrameGenerator is made of
    _essentia.keys = lambda: ["FrameCutter"]
    try:
        import essentia.standard as es
    finally:
        _essentia.keys = every

    def build(name: str):
        if name.startswith("__") or name not in every():
            raise AttributeError(f"module 'essentia.standard' has no attribute {name!r}")
        return es._create_essentia_class(name)  # also sets it on the module

    es.__getattr__ = build  # PEP 562: asked only for names not yet built
    return es

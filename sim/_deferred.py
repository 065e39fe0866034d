"""Import a package's submodules without running the package's ``__init__`` yet.

Some third-party packages import much more in their ``__init__`` than a module of theirs needs:
Mesa 3.3's ``mesa`` loads its spaces (networkx), the experimental continuous space
(scipy.spatial) and the batch runner, and ``scipy.sparse.csgraph`` loads ``scipy.sparse.linalg``
and ``scipy.linalg`` for its graph Laplacian, while ``sim`` uses only ``mesa.model``,
``mesa.agent``, ``mesa.datacollection`` and ``scipy.sparse.csgraph``'s Dijkstra (together
about 0.3-0.6 s of CPU time per process).

:func:`submodules` registers the package, if it is not imported yet, as a module object made
from its own import spec with its ``__init__`` not yet run (its ``__path__`` is set, so its
submodules import as usual), and imports the submodules. The first attribute looked up on the
package that is not a loaded submodule (``import mesa; mesa.batch_run``, ``from
scipy.sparse.csgraph import laplacian``) runs the package's ``__init__`` then, in that same
module object: code that uses the package directly sees the whole package and the same
classes and functions. A package that is already imported is used as it is.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types

_LOCK = threading.RLock()
_PUBLIC_DUNDERS = ("__version__", "__all__", "__title__", "__license__", "__copyright__")


class _DeferredPackage(types.ModuleType):
    """A package whose ``__init__`` runs on the first attribute it does not have."""

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__") and name not in _PUBLIC_DUNDERS:
            raise AttributeError(name)  # import machinery probes (__path__ etc. are set)
        with _LOCK:
            if type(self) is _DeferredPackage:
                self.__class__ = types.ModuleType
                self.__spec__.loader.exec_module(self)
        return getattr(self, name)


def _register(package: str) -> None:
    if package in sys.modules:
        return
    parent, _, child = package.rpartition(".")
    if parent:
        importlib.import_module(parent)  # parents are imported normally
    spec = importlib.util.find_spec(package)
    if spec is None or spec.submodule_search_locations is None:
        return  # not a package (or not installed): a plain import will say so
    module = importlib.util.module_from_spec(spec)
    module.__class__ = _DeferredPackage
    sys.modules[package] = module
    if parent:
        setattr(sys.modules[parent], child, module)


def submodules(package: str, *names: str) -> list[types.ModuleType]:
    """Import ``package.name`` for each name, deferring ``package``'s own ``__init__``."""
    with _LOCK:
        _register(package)
    return [importlib.import_module(f"{package}.{n}") for n in names]

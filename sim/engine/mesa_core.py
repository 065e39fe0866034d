"""Mesa's ``Model``, ``Agent`` and ``DataCollector`` without the rest of the Mesa package.

Mesa 3.3's package ``__init__`` imports all of Mesa: its grid and network spaces (networkx),
the experimental continuous space (scipy.spatial) and the batch runner, about 0.3-0.5 s of CPU
time per process, although :class:`~sim.engine.model.SimModel` uses only the three modules
``mesa.model``, ``mesa.agent`` and ``mesa.datacollection`` (numpy and the standard library).

:func:`load` imports just those; it runs when this module is imported (:mod:`sim.engine`
imports it first), and ``Model``, ``Agent`` and ``DataCollector`` here are Mesa's classes.
When ``mesa`` has not been imported yet, it first registers the ``mesa`` package with its
``__init__`` not yet run (a module object made from the package's own import spec, so
``mesa.model`` and friends are found on its ``__path__`` as usual); the first attribute looked
up on the package that is not a loaded submodule (``import mesa; mesa.batch_run``, ``from mesa
import Model``, ``mesa.__version__``) runs the package's ``__init__`` then, in that same module
object, so code that uses ``mesa`` directly sees the whole package and the very same classes.
If ``mesa`` is already imported, nothing changes.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
import types

_LOCK = threading.RLock()


class _DeferredPackage(types.ModuleType):
    """The ``mesa`` package whose ``__init__`` runs on the first attribute it does not have."""

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__") and name not in (
                "__version__", "__all__", "__title__", "__license__", "__copyright__"):
            raise AttributeError(name)  # import machinery probes (__path__ etc. are set)
        with _LOCK:
            if type(self) is _DeferredPackage:
                self.__class__ = types.ModuleType
                self.__spec__.loader.exec_module(self)
        return getattr(self, name)


def _register_deferred_mesa() -> None:
    spec = importlib.util.find_spec("mesa")
    if spec is None or spec.submodule_search_locations is None:  # not installed: plain import
        return
    pkg = importlib.util.module_from_spec(spec)
    pkg.__class__ = _DeferredPackage
    sys.modules["mesa"] = pkg


def load():
    """``(Model, Agent, DataCollector)`` of Mesa, importing only the modules that define them."""
    with _LOCK:
        if "mesa" not in sys.modules:
            _register_deferred_mesa()
    # mesa.model first: at import, Mesa's logging inspects the call stack, at a cost that grows
    # with the number of loaded modules (mesa.datacollection loads pandas)
    model = importlib.import_module("mesa.model")
    agent = importlib.import_module("mesa.agent")
    datacollection = importlib.import_module("mesa.datacollection")
    return model.Model, agent.Agent, datacollection.DataCollector


Model, Agent, DataCollector = load()

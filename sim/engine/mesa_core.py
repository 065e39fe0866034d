"""Mesa's ``Model``, ``Agent`` and ``DataCollector`` without the rest of the Mesa package.

:class:`~sim.engine.model.SimModel` uses only ``mesa.model``, ``mesa.agent`` and
``mesa.datacollection`` (numpy, pandas and the standard library); Mesa 3.3's package
``__init__`` would also import its spaces (networkx), the experimental continuous space
(scipy.spatial) and the batch runner. This module imports just the three, with the package's
``__init__`` deferred until code uses ``mesa`` itself (:mod:`sim._deferred`): ``import mesa;
mesa.batch_run(...)`` then works as usual, with the very same classes. :mod:`sim.engine`
imports this module first: ``mesa.model`` inspects the call stack once at import (Mesa's
logging), at a cost that grows with the number of modules loaded.
"""

from __future__ import annotations

from sim._deferred import submodules

# mesa.model first: mesa.datacollection imports pandas
_model, _agent, _datacollection = submodules("mesa", "model", "agent", "datacollection")

Model = _model.Model
Agent = _agent.Agent
DataCollector = _datacollection.DataCollector

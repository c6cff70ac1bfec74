"""Test processes only (the suite puts this directory on PYTHONPATH): `core.clock.today`
answers CURADORIA_TESTE_HOJE, so the poller and the dashboard the tests start as
processes live on the same calendar day as the tests. The fixtures were written before
OpenAI's cut-offs (no new jobs from 2027-01-06, gpt-4.1 and gpt-4o off on 2027-01-14);
without this the suite would start failing on those days."""
import datetime as _dt
import importlib.abc as _abc
import importlib.util as _util
import os as _os
import sys as _sys

_HOJE = _os.environ.get("CURADORIA_TESTE_HOJE")


class _PinToday(_abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name != "core.clock":
            return None
        _sys.meta_path.remove(self)
        spec = _util.find_spec(name)
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            module.today = lambda: _dt.date.fromisoformat(_HOJE)
        spec.loader.exec_module = exec_module
        return spec


if _HOJE:
    _sys.meta_path.insert(0, _PinToday())

try:  # what Debian's own sitecustomize does, which this one shadows
    import apport_python_hook
except ImportError:
    pass
else:
    apport_python_hook.install()

"""The caller's own modules travel by value, so a worker anywhere runs their functions and rebuilds their classes.

A module counts as the user's when it was loaded from a .py file outside the standard library and outside every
site-packages/dist-packages directory: a script's neighbour, a test file pytest imported, a src/ layout, a
notebook's helpers. cloudpickle is told to pickle such modules by value (register_pickle_by_value), so their
functions and classes arrive with the module-level globals they use; installed packages (numpy, the standard
library, scaler_cpp) still travel by reference. docs/python.md#your-own-modules.
"""

import os
import site
import sys
import sysconfig
import threading

import cloudpickle

_NEVER = frozenset({"scaler_cpp", "cloudpickle"})  # ours (a build tree is outside site-packages) and the pickler


def _installed_roots():
    roots = set()
    for variables in (None, {"base": sys.base_prefix, "platbase": sys.base_exec_prefix}):
        paths = sysconfig.get_paths(vars=variables) if variables else sysconfig.get_paths()
        roots.update(paths.get(key) for key in ("stdlib", "platstdlib", "purelib", "platlib"))
    if hasattr(site, "getsitepackages"):
        roots.update(site.getsitepackages())
    if hasattr(site, "getusersitepackages"):
        roots.add(site.getusersitepackages())
    return tuple(sorted({os.path.realpath(root) + os.sep for root in roots if root}))


_INSTALLED_ROOTS = _installed_roots()


def is_user_module(name: str, module) -> bool:
    if name == "__main__" or name.partition(".")[0] in _NEVER:
        return False  # cloudpickle sends __main__ by value already
    path = getattr(module, "__file__", None)
    if not isinstance(path, str) or not path.endswith(".py"):
        return False  # built-in, extension (cannot travel) or namespace package
    path = os.path.realpath(path)
    if path.startswith(_INSTALLED_ROOTS):
        return False
    parts = path.split(os.sep)
    return "site-packages" not in parts and "dist-packages" not in parts


class UserModules:
    """Finds the user's modules among those imported so far, as the set grows; cheap when it has not."""

    def __init__(self):
        self._lock = threading.Lock()
        self._checked = set()
        self._modules_seen = -1
        # Names whose appearance in a plain pickle means it refers to a module a worker may not have:
        # the caller's __main__ (a worker's is another) and the user's modules.
        self.markers = (b"__main__",)

    def refresh(self) -> None:
        if len(sys.modules) == self._modules_seen:
            return
        with self._lock:
            markers = list(self.markers)
            for name, module in list(sys.modules.items()):
                if name in self._checked:
                    continue
                self._checked.add(name)
                if module is not None and is_user_module(name, module):
                    cloudpickle.register_pickle_by_value(module)
                    markers.append(name.encode())
            self.markers = tuple(markers)
            self._modules_seen = len(sys.modules)

    def mentioned_in(self, data: bytes) -> bool:
        """Whether a plain pickle may name a user module (a false positive only costs a cloudpickle)."""
        for marker in self.markers:
            if marker in data:
                return True
        return False


USER_MODULES = UserModules()

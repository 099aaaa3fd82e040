"""Builds scaler_cpp's native module and the scaler-cpp commands with CMake, for pip and python3 -m build.

The wheel holds the Python package (with _native) and, as data installed into the environment's bin
directory, the binaries: so `pip install` makes `scaler_scheduler`, `scaler_worker`, the adapters and the tools
commands of that environment, and `scaler_worker` finds the environment's python3 beside itself.

SCALER_CPP_BUILD_DIR names a CMake build directory to build in (an existing one is reused: the tests install
from the build the suite already made); otherwise one is configured under build/python-package.
"""

import os
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = os.path.dirname(os.path.abspath(__file__))
os.makedirs(os.path.join(ROOT, "build", "python-package"), exist_ok=True)  # egg_info writes here
BUILD_BASE = os.path.join("build", "python-package")  # relative: setuptools wants data_files relative
STAGED_BIN = os.path.join(BUILD_BASE, "bin")
COMMANDS = [
    "scaler_scheduler",
    "scaler_worker",
    "scaler_worker_group",
    "scaler_worker_adapter_native",
    "scaler_worker_adapter_container",
    "scaler_worker_adapter_ecs",
    "scaler_top",
    "scaler_dashboard",
    "scaler_submit",
    "scaler_keygen",
]


class CMakeExtension(Extension):
    def __init__(self, name: str, target: str):
        super().__init__(name, sources=[])
        self.target = target


class CMakeBuild(build_ext):
    def build_extension(self, ext: Extension) -> None:
        if not isinstance(ext, CMakeExtension):
            super().build_extension(ext)
            return
        build_dir = os.environ.get("SCALER_CPP_BUILD_DIR") or os.path.join(ROOT, BUILD_BASE, "cmake")
        build_dir = os.path.abspath(build_dir)
        if not os.path.exists(os.path.join(build_dir, "CMakeCache.txt")):
            self._run(["cmake", "-S", ROOT, "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release",
                       "-DSCALER_BUILD_TESTS=OFF"])
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL") or str(os.cpu_count() or 1)
        self._run(["cmake", "--build", build_dir, "-j", jobs, "--target", ext.target, *COMMANDS])

        native = self._find_native(os.path.join(build_dir, "python", "scaler_cpp"))
        destination = self.get_ext_fullpath(ext.name)
        os.makedirs(os.path.dirname(destination), exist_ok=True)
        self._stage(native, destination)

        staged = os.path.join(ROOT, STAGED_BIN)
        os.makedirs(staged, exist_ok=True)
        for command in COMMANDS:
            self._stage(os.path.join(build_dir, "bin", command), os.path.join(staged, command))

    @staticmethod
    def _find_native(directory: str) -> str:
        suffix = ".cpython-%d%d" % sys.version_info[:2]
        for name in sorted(os.listdir(directory)):
            if name.startswith("_native") and name.endswith(".so") and (suffix in name or ".abi3" in name):
                return os.path.join(directory, name)
        raise RuntimeError(f"the CMake build made no _native module for Python {sys.version.split()[0]} in "
                           f"{directory}: it builds for /usr/bin/python3 (python/CMakeLists.txt)")

    @staticmethod
    def _stage(source: str, destination: str) -> None:
        # The build's debug information is most of a binary's size; a wheel does without it.
        strip = shutil.which("strip")
        if os.path.exists(destination):
            os.remove(destination)
        if strip:
            subprocess.run([strip, "--strip-debug", "-o", destination, source], check=True)
        else:
            shutil.copyfile(source, destination)
        shutil.copymode(source, destination)

    def _run(self, command) -> None:
        print(" ".join(command), flush=True)
        subprocess.run(command, check=True, cwd=ROOT)


setup(
    ext_modules=[CMakeExtension("scaler_cpp._native", "scaler_cpp_native")],
    cmdclass={"build_ext": CMakeBuild},
    data_files=[("bin", [os.path.join(STAGED_BIN, command) for command in COMMANDS])],
    options={"build": {"build_base": BUILD_BASE}, "egg_info": {"egg_base": BUILD_BASE}},
    zip_safe=False,
)

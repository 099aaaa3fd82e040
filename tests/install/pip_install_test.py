"""The pip line from README.md, for real: a fresh virtual environment, `pip install --no-build-isolation` of this
tree (reusing the suite's CMake build), then README's Python quick start from an empty directory with no
PYTHONPATH, the installed commands, and a wheel from `python3 -m build` installed into a second environment.

usage: pip_install_test.py SOURCE_DIR BUILD_DIR
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SOURCE, BUILD = (os.path.abspath(p) for p in sys.argv[1:3])
sys.path.insert(0, os.path.join(BUILD, "python"))  # for the build's free-port helper only
from scaler_cpp.cluster import _free_port_pair  # noqa: E402
PYTHON = "/usr/bin/python3"
COMMANDS = ["scaler_scheduler", "scaler_worker", "scaler_worker_adapter_native", "scaler_worker_adapter_container",
            "scaler_worker_adapter_ecs", "scaler_worker_group", "scaler_top", "scaler_dashboard", "scaler_submit",
            "scaler_keygen"]


def run(args, **kwargs):
    print("+", " ".join(args), flush=True)
    result = subprocess.run(args, text=True, capture_output=True, **kwargs)
    if result.returncode != 0:
        sys.exit(f"FAILED ({result.returncode}): {' '.join(args)}\n{result.stdout}\n{result.stderr}")
    return result.stdout


def clean_env(venv):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SCALER_CPP_BIN_DIR",
                                                             "SCALER_CPP_PYTHON_EXECUTABLE")}
    env["PATH"] = os.path.join(venv, "bin") + os.pathsep + "/usr/bin:/bin"
    env["SCALER_CPP_BUILD_DIR"] = BUILD  # reuse the suite's build instead of compiling again
    env["PIP_NO_INDEX"] = "1"  # nothing may come from a package index
    return env


def new_venv(path):
    run([PYTHON, "-m", "venv", "--system-site-packages", path])
    return path


def readme_quick_start():
    with open(os.path.join(SOURCE, "README.md")) as f:
        text = f.read()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    starts = [b for b in blocks if "SchedulerClusterCombo" in b]
    assert starts, "README.md has no Python quick start"
    return starts[0]


def check_installed_commands(venv, workdir, env):
    for command in COMMANDS:
        path = os.path.join(venv, "bin", command)
        assert os.access(path, os.X_OK), f"pip did not install the command {command}"
        out = run([command, "--help"], cwd=workdir, env=env)
        assert command in out or "Usage" in out, out
    # A scheduler and a worker started as commands of the environment, the worker finding that environment's
    # python3 beside itself for its Python tasks.
    address = f"tcp://127.0.0.1:{_free_port_pair()}"
    scheduler = subprocess.Popen(["scaler_scheduler", address, "--logging-level", "WARNING"], cwd=workdir, env=env)
    worker = subprocess.Popen(["scaler_worker", address, "--logging-level", "WARNING"], cwd=workdir, env=env)
    try:
        script = (
            "import operator, scaler_cpp\n"
            f"with scaler_cpp.Client(address={address!r}) as c:\n"
            "    assert c.submit(operator.add, 2, 3).result(timeout=60) == 5\n"
            "print('standalone worker ran a Python task')\n"
        )
        print(run(["python", "-c", script], cwd=workdir, env=env, timeout=120).strip())
        out = run(["scaler_submit", address, "--function", "echo", "--payload", "hi", "--count", "3"],
                  cwd=workdir, env=env, timeout=60)
        print(out.strip())
    finally:
        for process in (worker, scheduler):
            process.send_signal(signal.SIGTERM)
        for process in (worker, scheduler):
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()


def main():
    top = tempfile.mkdtemp(prefix="scaler-pip-")
    try:
        workdir = os.path.join(top, "work")
        os.makedirs(workdir)

        # 1. The pip line.
        venv = new_venv(os.path.join(top, "venv"))
        env = clean_env(venv)
        started = time.monotonic()
        run([os.path.join(venv, "bin", "pip"), "install", "--no-build-isolation", SOURCE], cwd=workdir, env=env)
        print(f"pip install took {time.monotonic() - started:.1f} s")
        where = run(["python", "-c", "import scaler_cpp; print(scaler_cpp.__file__, scaler_cpp.__version__)"],
                    cwd=workdir, env=env).split()
        assert where[0].startswith(venv), f"scaler_cpp imported from {where[0]}, not the environment"
        with open(os.path.join(SOURCE, "CMakeLists.txt")) as f:
            cmake_version = re.search(r"project\(ScalerCpp VERSION (\S+)", f.read()).group(1)
        assert where[1] == cmake_version, f"__version__ {where[1]} is not the project's {cmake_version}"
        for stub in ("py.typed", "_native.pyi"):
            assert os.path.exists(os.path.join(os.path.dirname(where[0]), stub)), f"{stub} not installed"

        # 2. README's quick start, as written, from an empty directory.
        with open(os.path.join(workdir, "quick_start.py"), "w") as f:
            f.write(readme_quick_start())
        out = run(["python", "quick_start.py"], cwd=workdir, env=env, timeout=120)
        print(out.strip())
        assert out.split("\n")[:3] == ["49", "[0, 1, 4, 9, 16]", "{'b': 9}"], out

        # 3. The commands.
        check_installed_commands(venv, workdir, env)

        # 4. A wheel, installed into another environment.
        dist = os.path.join(top, "dist")
        run([PYTHON, "-m", "build", "--wheel", "--no-isolation", "--outdir", dist, SOURCE], cwd=workdir, env=env)
        wheels = [w for w in os.listdir(dist) if w.endswith(".whl")]
        assert len(wheels) == 1, wheels
        other = new_venv(os.path.join(top, "other"))
        other_env = clean_env(other)
        run([os.path.join(other, "bin", "pip"), "install", os.path.join(dist, wheels[0])], cwd=workdir, env=other_env)
        out = run(["python", "quick_start.py"], cwd=workdir, env=other_env, timeout=120)
        assert out.startswith("49\n"), out
        print(f"the wheel {wheels[0]} ({os.path.getsize(os.path.join(dist, wheels[0])) // 1024} KiB) installs "
              "and runs the quick start")
    finally:
        shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    main()

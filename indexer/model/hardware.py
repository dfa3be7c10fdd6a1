"""What this machine offers the runtimes: its cores, whether the CPU multiplies bfloat16 natively, and
whether there is an NVIDIA GPU at all (asked of the device nodes, not of a framework: importing torch
or Paddle to find none costs seconds)."""

from __future__ import annotations

import glob
import os
import re
from pathlib import Path


def cpu_threads() -> int:
    """OMP_NUM_THREADS when set, else the cores this process may run on."""
    env = os.environ.get("OMP_NUM_THREADS", "")
    return int(env) if env.isdigit() and int(env) > 0 else len(os.sched_getaffinity(0))


def cpu_has_native_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 natively (AVX512-BF16 or AMX), from /proc/cpuinfo's flags.
    Elsewhere frameworks emulate it, 30x slower than float32 (measured on an AVX2-only EPYC)."""
    try:
        return bool(re.search(r"\b(avx512_bf16|amx_bf16)\b", Path("/proc/cpuinfo").read_text()))
    except OSError:  # not Linux: assume not
        return False


def cpu_precision() -> str:
    """The precision the CPU computes fastest in: bfloat16 where native, else float32."""
    return "bfloat16" if cpu_has_native_bf16() else "float32"


def gpu_present() -> bool:
    """Whether an NVIDIA GPU is visible to this process: a driver-listed GPU, not hidden by CUDA_VISIBLE_DEVICES."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    return bool(glob.glob("/proc/driver/nvidia/gpus/*") or glob.glob("/dev/nvidia[0-9]*"))

"""Run GIL-free numba code on torch's own OpenMP thread team.

Why: after each parallel operation torch's OpenMP workers busy-wait for a few milliseconds
before they sleep (libgomp spins about 300,000 times). Threads of our own started in that window
share the cores with spinning workers: measured at batch 8 × 5 s, the compressor's kernels ran
twice as slowly right after a torch operation (2 threads: forward 4.1 ms instead of 2.0 ms,
backward 10 ms instead of 4.8 ms). Handing the work to the same team, through the
``GOMP_parallel`` entry point that compiled OpenMP code calls, puts the spinning workers to use,
as every torch operation does.

The team is torch's when its parallel backend is OpenMP through the libgomp it ships (the Linux
wheels); :data:`AVAILABLE` is False otherwise (macOS, Windows, other builds) and callers use
Python threads instead. Like torch's own operations, the team cannot be used in a process forked
from one that used it unless the child sets one thread (libgomp's pool does not survive the
fork; DataLoader workers set one thread, and the kernels then run without the team).

A task is a numba ``cfunc`` of signature ``void(voidptr)``; the pointer is the address of an
``int64`` descriptor array. Its first two entries are the addresses of libgomp's
``omp_get_thread_num`` and ``omp_get_num_threads`` (:func:`batch_share` calls them: passed as
data, not captured as ctypes globals, they leave the task cacheable on disk); the rest are the
task's own fields (shapes, flags, array addresses), unpacked with :func:`array_at`.
"""

from __future__ import annotations

import ctypes
import glob
import os

import numpy as np
import torch
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic
from numba.np.numpy_support import carray


def _torch_libgomp() -> ctypes.CDLL | None:
    """torch's own libgomp (already loaded with torch, so the same copy and thread pool), or
    None when torch's parallel backend is not OpenMP through a libgomp next to it."""
    if "ATen parallel backend: OpenMP" not in torch.__config__.parallel_info():
        return None
    root = os.path.dirname(torch.__file__)
    candidates = sorted(glob.glob(os.path.join(root, "lib", "libgomp*.so*"))
                        + glob.glob(os.path.join(root, os.pardir, "torch.libs", "libgomp*.so*")))
    if not candidates:
        return None
    try:
        library = ctypes.CDLL(candidates[0])
        library.GOMP_parallel.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint,
                                          ctypes.c_uint]
        library.GOMP_parallel.restype = None
        for name in ("omp_get_thread_num", "omp_get_num_threads"):
            getattr(library, name).argtypes = []
            getattr(library, name).restype = ctypes.c_int
    except (OSError, AttributeError):
        return None
    return library


_LIBGOMP = _torch_libgomp()
#: Whether tasks can run on torch's OpenMP team.
AVAILABLE = _LIBGOMP is not None


@intrinsic
def _as_pointer(typingctx, address):
    """An ``int64`` address as a ``void*``."""
    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], cgutils.voidptr_t)
    return types.voidptr(address), codegen


@intrinsic
def _call_int_function(typingctx, address):
    """Call the C function ``int f(void)`` at ``address``."""
    def codegen(context, builder, signature, args):
        function_type = ir.FunctionType(ir.IntType(32), [])
        function = builder.inttoptr(args[0], function_type.as_pointer())
        return builder.sext(builder.call(function, []), ir.IntType(64))
    return types.int64(address), codegen


@njit(inline="always")
def array_at(address, shape, dtype):
    """The C-contiguous array of ``shape`` and ``dtype`` at ``address`` (no copy)."""
    return carray(_as_pointer(address), shape, dtype)


@njit(inline="always")
def fields(data, count):
    """The task's ``count`` fields of the descriptor at ``data`` (after the two addresses)."""
    return array_at(data, (count + 2,), np.int64)[2:]


@njit(inline="always")
def batch_share(data, batch):
    """``(lo, hi)``: the calling team thread's contiguous share of ``batch`` items."""
    header = array_at(data, (2,), np.int64)
    thread, threads = _call_int_function(header[0]), _call_int_function(header[1])
    return batch * thread // threads, batch * (thread + 1) // threads


def run(task, task_fields: list[int], threads: int) -> None:
    """Run ``task`` on ``threads`` threads of torch's team (the caller is one of them) and
    return when all are done. The arrays whose addresses are in ``task_fields`` must stay alive
    until then (the caller holds them)."""
    descriptor = np.array([ctypes.cast(_LIBGOMP.omp_get_thread_num, ctypes.c_void_p).value,
                           ctypes.cast(_LIBGOMP.omp_get_num_threads, ctypes.c_void_p).value,
                           *task_fields], dtype=np.int64)
    _LIBGOMP.GOMP_parallel(task.address, descriptor.ctypes.data, threads, 0)

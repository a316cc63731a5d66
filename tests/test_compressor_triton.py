"""The compressor's CUDA path (Triton kernels), checked without a GPU.

* Values and gradients: ``triton_interpreted_checks.py`` runs the public ``compressor`` through
  the Triton kernels in Triton's CPU interpreter and compares it with the numba path.
* Compilation: both kernels are compiled ahead of time to GPU machine code (cubin) for sm_80
  (A100) and sm_90 (H100), float32 and float64, with Triton's own compiler.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import triton
from triton.backends.compiler import GPUTarget
from triton.compiler import ASTSource

from dasp_blind.functional import _compressor_triton as gpu


def test_triton_path_matches_numba_path_in_the_interpreter():
    script = Path(__file__).with_name("triton_interpreted_checks.py")
    env = {**os.environ, "TRITON_INTERPRET": "1"}
    run = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "channels=2 knee=6.0: output and gradients match the numba path" in run.stdout
    assert "sidechain with look-ahead: output and gradients match" in run.stdout
    assert "gradcheck (fast mode) pass" in run.stdout


@pytest.mark.parametrize("capability", [80, 90])
@pytest.mark.parametrize("dtype", ["fp32", "fp64"])
def test_kernels_compile_for_cuda(capability, dtype):
    pointer = f"*{dtype}"
    signatures = {
        gpu.ballistics_forward_kernel: {
            "x_l_ptr": pointer, "alpha_attack_ptr": pointer, "alpha_release_ptr": pointer,
            "y_l_ptr": pointer, "attack_ptr": "*i8", "length": "i32"},
        gpu.ballistics_backward_kernel: {
            "grad_y_l_ptr": pointer, "attack_ptr": "*i8", "alpha_attack_ptr": pointer,
            "alpha_release_ptr": pointer, "lam_ptr": pointer, "length": "i32"},
    }
    for kernel, signature in signatures.items():
        compiled = triton.compile(ASTSource(fn=kernel, signature=signature),
                                  target=GPUTarget("cuda", capability, 32),
                                  options=gpu.LAUNCH)
        assert compiled.metadata.name == kernel.__name__
        assert f".target sm_{capability}" in compiled.asm["ptx"]
        assert len(compiled.asm["cubin"]) > 1000

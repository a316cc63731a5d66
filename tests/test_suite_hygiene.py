"""The test suite itself: no test may draw from or seed a global random number generator.

Every test seeds its own generator (``torch.Generator().manual_seed(k)`` passed as
``generator=``, ``np.random.default_rng(k)``), so that its data do not depend on which tests ran
before it, nor on the order pytest runs them in. This test reads every ``tests/*.py`` with
``ast`` and lists each call that reads or seeds global RNG state, as ``file:line``.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent

#: Seed or reset a global generator, whatever their arguments.
GLOBAL_SEEDING = {
    "torch.manual_seed", "torch.random.manual_seed", "torch.seed", "torch.random.seed",
    "torch.cuda.manual_seed", "torch.cuda.manual_seed_all", "torch.set_rng_state",
    "torch.random.set_rng_state", "pytorch_lightning.seed_everything",
    "lightning.seed_everything", "lightning.pytorch.seed_everything",
    "lightning_fabric.utilities.seed.seed_everything",
}
#: torch functions that draw from the global generator unless given ``generator=``.
TORCH_SAMPLERS = {
    f"torch.{name}" for name in (
        "rand", "randn", "randint", "randperm", "normal", "rand_like", "randn_like",
        "randint_like", "bernoulli", "multinomial", "poisson")
} | {
    f"torch.nn.init.{name}" for name in (
        "uniform_", "normal_", "trunc_normal_", "xavier_uniform_", "xavier_normal_",
        "kaiming_uniform_", "kaiming_normal_", "orthogonal_", "sparse_")
}
#: In-place Tensor methods that draw from the global generator unless given ``generator=``.
TENSOR_SAMPLING_METHODS = {"uniform_", "normal_", "random_", "bernoulli_", "exponential_",
                           "cauchy_", "log_normal_", "geometric_"}
#: numpy.random names that make an explicit, seeded generator (they need a seed argument).
NUMPY_EXPLICIT = {"default_rng", "Generator", "PCG64", "PCG64DXSM", "Philox", "SFC64",
                  "MT19937", "SeedSequence"}


def module_aliases(tree: ast.Module) -> dict[str, str]:
    """Local name -> dotted module path, from the file's imports (``np`` -> ``numpy``)."""
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for name in node.names:
                aliases[name.asname or name.name.split(".")[0]] = (
                    name.name if name.asname else name.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for name in node.names:
                aliases[name.asname or name.name] = f"{node.module}.{name.name}"
    return aliases


def dotted_name(node: ast.expr, aliases: dict[str, str]) -> str | None:
    """``np.random.rand`` -> ``numpy.random.rand`` (None for calls on non-name expressions)."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([aliases.get(node.id, node.id), *reversed(parts)])


def global_rng_problem(call: ast.Call, aliases: dict[str, str]) -> str | None:
    """Why ``call`` uses global RNG state, or None if it does not."""
    name = dotted_name(call.func, aliases)
    has_generator = any(k.arg == "generator" for k in call.keywords)
    seeded = bool(call.args) or any(k.arg in ("seed", "bit_generator") for k in call.keywords)
    if name in GLOBAL_SEEDING:
        return f"{name}() seeds a global generator"
    if name in TORCH_SAMPLERS and not has_generator:
        return f"{name}() without generator="
    if name and name.startswith("numpy.random."):
        fn = name.removeprefix("numpy.random.")
        if fn not in NUMPY_EXPLICIT:
            return f"{name}() uses numpy's global generator (use np.random.default_rng(seed))"
        if not seeded:
            return f"{name}() without a seed"
    if name and name.startswith("random."):
        if name != "random.Random":
            return f"{name}() uses the random module's global generator"
        if not seeded:
            return "random.Random() without a seed"
    if (name is None or name not in TORCH_SAMPLERS) and isinstance(call.func, ast.Attribute) \
            and call.func.attr in TENSOR_SAMPLING_METHODS and not has_generator:
        return f".{call.func.attr}() without generator="
    return None


def global_rng_calls(path: Path) -> list[str]:
    """``file:line: reason`` for every call in ``path`` that reads or seeds global RNG state."""
    tree = ast.parse(path.read_text(), filename=str(path))
    aliases = module_aliases(tree)
    calls = sorted((node for node in ast.walk(tree) if isinstance(node, ast.Call)),
                   key=lambda node: (node.lineno, node.col_offset))
    return [f"{path.name}:{node.lineno}: {problem}" for node in calls
            if (problem := global_rng_problem(node, aliases)) is not None]


def test_guard_recognises_global_rng_calls():
    source = (
        "import random\nimport numpy as np\nimport torch\nfrom torch import randn\n"
        "import pytorch_lightning as pl\n"
        "torch.manual_seed(0)\n"                                  # 6
        "torch.randn(3)\n"                                        # 7
        "randn(3)\n"                                              # 8
        "np.random.rand(3)\n"                                     # 9
        "random.random()\n"                                       # 10
        "np.random.default_rng()\n"                               # 11
        "torch.empty(3).normal_()\n"                              # 12
        "pl.seed_everything(0)\n"                                 # 13
        "torch.nn.init.normal_(torch.empty(3))\n"                 # 14
        "torch.randn(3, generator=torch.Generator().manual_seed(0))\n"
        "np.random.default_rng(1).standard_normal(3)\n"
        "random.Random(2).random()\n"
        "torch.empty(3).normal_(generator=torch.Generator().manual_seed(3))\n"
        "torch.nn.init.normal_(torch.empty(3), generator=torch.Generator())\n"
    )
    tree = ast.parse(source)
    aliases = module_aliases(tree)
    lines = sorted(node.lineno for node in ast.walk(tree) if isinstance(node, ast.Call)
                   and global_rng_problem(node, aliases) is not None)
    assert lines == list(range(6, 15))


def test_no_test_uses_global_rng_state():
    problems = [problem for path in sorted(TESTS.glob("*.py")) for problem in
                global_rng_calls(path)]
    assert not problems, "calls that use global RNG state:\n" + "\n".join(problems)

"""The effect catalog (``db.effects.names()``), ``dasp-blind effects`` and the docs' tables."""

import importlib.util
import re

import pytest
from clirun import ROOT, assert_one_line_error, run_cli

import dasp_blind.effects as fx
from dasp_blind.effects import catalog


def test_every_exported_effect_has_a_snake_case_name():
    classes = {getattr(fx, n) for n in fx.__all__
               if isinstance(getattr(fx, n), type) and n not in ("Effect", "Chain")}
    names = fx.names()
    assert set(names.values()) == classes
    assert len(names) == len(classes)  # one name each
    for name, cls in names.items():
        assert re.fullmatch(r"[a-z][a-z0-9_]*", name), name
        assert catalog.resolve(name) == name
        assert type(catalog.build(name, 44100)) is cls
    assert catalog.resolve("eq") == "parametric_eq"


def test_parameter_table_is_the_param_space():
    for name in fx.names():
        effect = catalog.build(name)
        rows = catalog.parameter_table(name)
        assert [r.name for r in rows] == effect.param_space.names
        for row, spec in zip(rows, effect.param_space, strict=True):
            assert (row.min, row.max, row.scale, row.unit) == (spec.min, spec.max, spec.scale,
                                                               spec.unit)
            assert row.default == spec.default_value
    # concrete values, so that a change of range shows up here too
    rows = {r.name: r for r in catalog.parameter_table("compressor")}
    assert rows["threshold_db"] == catalog.ParamRow("threshold_db", -40.0, 0.0, "lin", "dB", -20.0)
    assert rows["attack_ms"].scale == "log" and rows["attack_ms"].unit == "ms"
    # the parametric EQ caps its frequency ranges at 0.45 x the sample rate
    assert catalog.parameter_table("eq", 22050)[12].max == pytest.approx(0.45 * 22050)


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown effect 'reverb'; known effects: .*compressor"):
        catalog.resolve("reverb")


def table_line(row: catalog.ParamRow) -> str:
    """Regex of the row of ``row`` in the command's table: name, min, max, scale, unit."""
    unit = re.escape(row.unit or "-")
    return (rf"^{re.escape(row.name)}\s+{row.min:.6g}\s+{row.max:.6g}\s+{row.scale}\s+{unit}\s+"
            rf"{row.default:.6g}$")


def test_cli_lists_every_effect_with_its_parameters(tmp_path):
    result = run_cli("effects", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for name in fx.names():
        assert re.search(rf"^{name} \(", result.stdout, re.M), name
    for name in ("compressor", "parametric_eq", "chorus", "sox_overdrive"):
        for row in catalog.parameter_table(name):
            assert re.search(table_line(row), result.stdout, re.M), (name, row)


def test_cli_one_effect_at_a_sample_rate(tmp_path):
    result = run_cli("effects", "eq", "--sample-rate", "22050", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("parametric_eq (ParametricEQ; alias eq)")
    assert re.search(r"^high_shelf\.freq_hz\s+5000\s+9922\.5\s+log\s+Hz", result.stdout, re.M)
    assert "compressor" not in result.stdout


@pytest.mark.parametrize("args,option", [
    (["reverb"], "name"),
    (["graphic_eq", "--sample-rate", "22050"], "--sample-rate"),  # 16 kHz band above Nyquist
    (["--sample-rate", "0"], "--sample-rate"),
])
def test_cli_errors_are_one_line(tmp_path, args, option):
    assert_one_line_error(run_cli("effects", *args, cwd=tmp_path), option)


def load_hook():
    spec = importlib.util.spec_from_file_location("effect_tables",
                                                  ROOT / "docs" / "hooks" / "effect_tables.py")
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    return hook


def test_docs_hook_renders_the_tables_into_the_parameters_page():
    hook = load_hook()
    assert hook.PLACEHOLDER in (ROOT / "docs" / "parameters.md").read_text()
    assert "docs/hooks/effect_tables.py" in (ROOT / "mkdocs.yml").read_text()
    page = hook.on_page_markdown(f"# Parameters\n\n{hook.PLACEHOLDER}\n")
    assert hook.PLACEHOLDER not in page
    for name in fx.names():
        assert f"### `{name}`" in page
    assert "| `threshold_db` | -40 | 0 | lin | dB | -20 |" in page
    assert "| `rate_hz` | 0.1 | 5 | log | Hz | 1 |" in page  # the chorus's
    assert hook.on_page_markdown("no placeholder") == "no placeholder"

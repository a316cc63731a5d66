"""TorchScript and streaming-ONNX export: each file is loaded back on its own (``torch.jit.load``,
``onnxruntime``) and run on seeded signals against the eager model (a GRU's ONNX graph also
against the float64 numpy recurrence of ``test_modelling_rnn``), at lengths other than the
export's example, with the ONNX state carried across two uneven blocks; plus the refusal of a
trace tied to its example length, of models a format does not support, and of overwriting."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _signals import seeded
from test_modelling_rnn import reference_rnn

from dasp_blind.modelling.export import (
    TRACE_SAMPLES,
    export_formats,
    export_model,
    export_onnx,
    export_torchscript,
)
from dasp_blind.modelling.rnn import RNNModel
from dasp_blind.modelling.streaming import Streamer
from dasp_blind.modelling.tcn import TCN
from dasp_blind.modelling.transformer import SpectrogramTransformer
from dasp_blind.removal.crafx import CRAFx

ort = pytest.importorskip("onnxruntime")
# torch 2.13 marks torch.jit deprecated; it still loads the files, which is what is tested
pytestmark = pytest.mark.filterwarnings(r"ignore:`torch\.jit\.\w+` is deprecated")

#: The issue's bound between an exported float32 model and the eager one (relative to the
#: output's peak where it exceeds 1). The largest difference measured is 1.8e-7.
TOL = 1e-5
TINY_CRAFX = dict(frame_length=256, hop_length=128, filters=4, kernel_size=8, pool_size=16,
                  context=1)
TINY_TCN = dict(channels=4, num_blocks=3, kernel_size=3, dilation_growth=3)


#: Small models, one of each kind and setting.
MODELS = {
    "gru-2-controls": lambda: RNNModel(hidden_size=8, num_controls=2),
    "lstm-2-layers": lambda: RNNModel(cell="lstm", hidden_size=8, num_layers=2, skip=False),
    "tcn-2-controls": lambda: TCN(num_controls=2, cond_hidden=(8,), **TINY_TCN),
    "tcn": lambda: TCN(**TINY_TCN),
    "transformer-1-control": lambda: SpectrogramTransformer(
        embed_dim=16, depth=1, num_heads=2, decoder_dim=16, decoder_depth=1, decoder_heads=2,
        num_controls=1, skip=False),
    "crafx": lambda: CRAFx(**TINY_CRAFX),
}


def build(name: str) -> torch.nn.Module:
    """The model ``name`` of :data:`MODELS`, drawn from its own seed, in eval mode."""
    return MODELS[name]().reset_parameters(seeded(list(MODELS).index(name))).eval()


def inputs(model: torch.nn.Module, batch: int, samples: int, seed: int):
    """Seeded audio ``(batch, 1, samples)`` and uniform controls ``(batch, num_controls)``."""
    gen = seeded(seed)
    x = 0.5 * torch.randn(batch, 1, samples, generator=gen)
    count = getattr(model, "num_controls", 0)
    return x, (torch.rand(batch, count, generator=gen) if count else None)


def run(model, x, controls):
    with torch.no_grad():
        return model(x) if controls is None else model(x, controls)


def assert_close(got: np.ndarray | torch.Tensor, expected: np.ndarray | torch.Tensor) -> None:
    got, expected = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0,
                               atol=TOL * max(1.0, float(np.abs(expected).max())))


@pytest.mark.parametrize("name", list(MODELS))
def test_torchscript_file_matches_the_model_at_other_lengths(name, tmp_path):
    model = build(name).train()  # export works on an eval copy and leaves the model as is
    path = export_torchscript(model, tmp_path / "model.pt")
    assert model.training
    model.eval()
    loaded = torch.jit.load(str(path))
    for seed, (batch, samples) in enumerate([(1, 777), (2, 5003)]):
        assert samples != TRACE_SAMPLES
        x, controls = inputs(model, batch, samples, seed)
        expected = run(model, x, controls)
        assert_close(run(loaded, x, controls), expected)
        assert float((expected - x).abs().max()) > 1e3 * TOL  # not a trivial identity
    if hasattr(model, "forward_with_state"):  # the scripted file streams with its state
        x, controls = inputs(model, 1, 1500, seed=5)
        streamer = Streamer(loaded)
        blocks = [streamer.process(x[..., a:b], controls) for a, b in ((0, 333), (333, 1500))]
        assert_close(torch.cat(blocks, dim=-1), run(model, x, controls))


class LengthBound(CRAFx):
    """A CRAFx whose output shape is tied, in a trace, to the example's length: ``int()`` of a
    size is recorded as a constant."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ramp = torch.arange(int(x.shape[-1]), dtype=x.dtype)
        return super().forward(x) + 0.0 * ramp


def test_a_trace_that_only_runs_at_its_example_length_is_refused(tmp_path):
    model = LengthBound(**TINY_CRAFX)
    with pytest.raises(ValueError, match=r"^model: the traced LengthBound does not reproduce"):
        export_torchscript(model, tmp_path / "bound.pt")
    assert not (tmp_path / "bound.pt").exists()


def test_models_a_format_does_not_support_are_refused(tmp_path):
    with pytest.raises(ValueError, match="model must be one of RNNModel, TCN, "
                                         "SpectrogramTransformer, CRAFx .* got Linear"):
        export_torchscript(torch.nn.Linear(1, 1), tmp_path / "a.pt")
    for offline in (CRAFx(**TINY_CRAFX), SpectrogramTransformer(embed_dim=16, num_heads=2)):
        with pytest.raises(ValueError, match="model must be one of RNNModel, TCN for "
                                             "streaming ONNX export"):
            export_onnx(offline, tmp_path / "a.onnx")
    assert export_formats(RNNModel()) == ("torchscript", "onnx", "json", "aidax")
    assert export_formats(RNNModel(pre_hidden=4)) == ("torchscript", "onnx")
    assert export_formats(TCN()) == ("torchscript", "onnx")
    assert export_formats(CRAFx(**TINY_CRAFX)) == ("torchscript",)
    with pytest.raises(ValueError, match="fmt 'json' does not support a TCN"):
        export_model(TCN(), tmp_path / "a.json", "json", sample_rate=44100)
    with pytest.raises(ValueError, match="sample_rate is required"):
        export_model(RNNModel(), tmp_path / "a.json", "json")
    assert list(tmp_path.iterdir()) == []


def onnx_feed(session, x, controls, state) -> dict[str, np.ndarray]:
    feed = {"x": x.numpy(), "state_in": state.numpy()}
    if controls is not None:
        feed["controls"] = controls.numpy()
    assert {i.name for i in session.get_inputs()} == set(feed)
    return feed


def initial_state(model, batch, controls):
    with torch.no_grad():
        if isinstance(model, TCN):
            return model.initial_state(batch, controls=controls)
        return model.initial_state(batch)


@pytest.mark.parametrize("name", ["gru-2-controls", "lstm-2-layers", "tcn-2-controls", "tcn"])
def test_onnx_graph_streams_two_blocks_as_the_model(name, tmp_path):
    model = build(name)
    path = export_onnx(model, tmp_path / "model.onnx", sample_rate=48000)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["y", "state_out"]
    meta = session.get_modelmeta().custom_metadata_map
    assert meta["sample_rate"] == "48000" and meta["model"] == type(model).__name__
    x, controls = inputs(model, 2, 2000, seed=11)
    state = initial_state(model, 2, controls)
    y1, state1 = session.run(None, onnx_feed(session, x[..., :700], controls, state))
    y2, state2 = session.run(None, onnx_feed(session, x[..., 700:], controls,
                                             torch.from_numpy(state1)))
    with torch.no_grad():
        expected, expected_state = model.forward_with_state(x, controls, None)
    assert_close(np.concatenate([y1, y2], axis=-1), expected)
    assert_close(state2, expected_state)
    assert float((expected - x).abs().max()) > 1e3 * TOL
    if name == "gru-2-controls":  # and the float64 recurrence written from the equations
        params = {k: v.double().numpy() for k, v in model.state_dict().items()}
        for item in range(2):
            knobs = controls[item, :, None].double().numpy().repeat(x.shape[-1], axis=1)
            reference = reference_rnn(params, "gru", 1, True, x[item, 0].double().numpy(), knobs)
            assert_close(np.concatenate([y1, y2], axis=-1)[item, 0], reference)


def test_tcn_graph_reaches_the_rest_state_from_zeros_after_receptive_field_samples(tmp_path):
    model = build("tcn-2-controls")
    session = ort.InferenceSession(str(export_onnx(model, tmp_path / "tcn.onnx")),
                                   providers=["CPUExecutionProvider"])
    _, controls = inputs(model, 1, 1, seed=3)
    rest = initial_state(model, 1, controls)
    silence = torch.zeros(1, 1, model.receptive_field - 1)
    _, state = session.run(None, onnx_feed(session, silence, controls, torch.zeros_like(rest)))
    assert_close(state, rest)
    assert float(rest.abs().max()) > 1e3 * TOL  # the rest state is not zero
    meta = session.get_modelmeta().custom_metadata_map
    assert meta["receptive_field"] == str(model.receptive_field) and "sample_rate" not in meta


def test_onnx_block_size_fixes_the_samples_axis(tmp_path):
    model = build("gru-2-controls")
    path = export_onnx(model, tmp_path / "fixed.onnx", block_size=256)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].shape == ["batch", 1, 256]
    x, controls = inputs(model, 1, 256, seed=4)
    y, _ = session.run(None, onnx_feed(session, x, controls, initial_state(model, 1, None)))
    assert_close(y, run(model, x, controls))
    with pytest.raises(ValueError, match="block_size must be an integer >= 1"):
        export_onnx(model, tmp_path / "zero.onnx", block_size=0)


@pytest.mark.parametrize("export", [export_torchscript, export_onnx])
def test_existing_files_are_replaced_only_with_overwrite(export, tmp_path):
    model = build("gru-2-controls")
    path = tmp_path / "model.bin"
    path.write_bytes(b"keep me")
    with pytest.raises(FileExistsError, match="pass overwrite"):
        export(model, path)
    assert path.read_bytes() == b"keep me"
    export(model, path, overwrite=True)
    assert path.read_bytes() != b"keep me"
    assert [p.name for p in tmp_path.iterdir()] == ["model.bin"]  # no temporary file left
    with pytest.raises(ValueError, match="path must be a file name"):
        export(model, tmp_path)
    with pytest.raises(ValueError, match="overwrite must be True or False"):
        export(model, tmp_path / "other.bin", overwrite="yes")

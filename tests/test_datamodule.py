"""EffectDataModule: splits, loaders, determinism across workers, YAML instantiation."""

import gc
import subprocess
import sys

import pytest
import soundfile as sf
import torch
from _signals import tone
from torch.utils.data import RandomSampler, SequentialSampler

from dasp_blind.data import EffectPairDataset, FolderClips, SyntheticClips
from dasp_blind.data.modules import EffectDataModule
from dasp_blind.data.pairs import EpochSampler
from dasp_blind.effects import Compressor

SR = 16000
T = SR // 4


def make_module(**kwargs):
    args = dict(effect=Compressor(sample_rate=SR), duration_s=0.25, sample_rate=SR,
                batch_size=4, train_items=8, val_items=6, test_items=5, seed=0)
    args.update(kwargs)
    return EffectDataModule(**args)


def test_loaders_give_documented_shapes():
    dm = make_module()
    dm.setup()
    for loader, n in ((dm.train_dataloader(), 8), (dm.val_dataloader(), 6),
                      (dm.test_dataloader(), 5)):
        assert len(loader.dataset) == n
        batch = next(iter(loader))
        assert set(batch) == {"dry", "wet", "q"}
        assert batch["dry"].shape == (4, 1, T) and batch["dry"].dtype == torch.float32
        assert batch["wet"].shape == (4, 1, T)
        assert batch["q"].shape == (4, 6)
        assert batch["q"].min() >= 0 and batch["q"].max() <= 1
        assert torch.all(batch["dry"].abs().amax(dim=-1) == 1.0)  # x / max|x|: exactly 1
    assert isinstance(dm.train_dataloader().sampler, RandomSampler)
    assert isinstance(dm.val_dataloader().sampler, SequentialSampler)
    assert isinstance(dm.test_dataloader().sampler, SequentialSampler)
    assert dm.hparams["batch_size"] == 4 and "effect" not in dm.hparams


def test_splits_use_different_seeds():
    dm = make_module()
    dm.setup("fit")
    assert dm.test_set is None  # "fit" builds train and val only
    dm.setup("test")
    sets = (dm.train_set, dm.val_set, dm.test_set)
    assert [s.clips.seed for s in sets] == [0, 1, 2]
    assert [s.seed for s in sets] == [0, 1, 2]
    assert all(isinstance(s, EffectPairDataset) and isinstance(s.clips, SyntheticClips)
               for s in sets)
    first = [s[0] for s in sets]
    for a in range(3):
        for b in range(a + 1, 3):
            assert not torch.equal(first[a]["dry"], first[b]["dry"])
            assert not torch.equal(first[a]["q"], first[b]["q"])
    val_batch = next(iter(dm.val_dataloader()))
    train_items = torch.stack([dm.train_set[i]["dry"] for i in range(8)])
    assert not any(torch.equal(val_batch["dry"][0], x) for x in train_items)


def test_shuffling_follows_the_module_seed_not_the_global_generator():
    def order(seed):
        return list(make_module(seed=seed, train_items=32).train_dataloader().sampler)

    first = order(0)
    # with torch's global generator the second draw would be another permutation
    assert order(0) == first
    assert order(1) != first and sorted(first) == list(range(32))


def test_batches_do_not_depend_on_the_number_of_workers():
    serial = make_module(num_workers=0)
    serial.setup()
    parallel = make_module(num_workers=2)
    parallel.setup()
    loader = parallel.val_dataloader()
    assert loader.persistent_workers and loader.num_workers == 2
    # the parent runs the compressor kernels first: forked workers must survive that
    expected = list(serial.val_dataloader())
    got = list(loader)
    assert len(got) == len(expected) == 2
    for a, b in zip(got, expected, strict=True):
        for key in ("dry", "wet", "q"):
            assert torch.equal(a[key], b[key]), key
    assert not serial.val_dataloader().persistent_workers
    del loader, got  # shut the persistent workers down here, not in a later test
    gc.collect()


def dominant_hz(x):
    """Frequency of the largest bin of the Hann-windowed spectrum of a (T,) clip."""
    spec = torch.fft.rfft(x * torch.hann_window(x.numel()))
    return spec.abs().argmax().item() * SR / x.numel()


@pytest.fixture
def tone_folder(tmp_path):
    """Ten one-second files, ``t<k>.wav`` holding a tone of 300 + 150·k Hz."""
    for k in range(10):
        sf.write(str(tmp_path / f"t{k}.wav"), tone(300.0 + 150.0 * k, 1.0, SR), SR)
    return tmp_path


def test_folder_source_gives_each_loader_its_own_files(tone_folder):
    dm = make_module(source="folder", root=str(tone_folder))
    dm.setup()
    sets = {"train": dm.train_set, "valid": dm.val_set, "test": dm.test_set}
    assert all(isinstance(s.clips, FolderClips) for s in sets.values())
    assert {name: s.clips.split for name, s in sets.items()} == {n: n for n in sets}
    files = {name: set(s.clips.files) for name, s in sets.items()}
    assert all(files.values())
    assert not files["train"] & files["valid"] and not files["train"] & files["test"]
    assert not files["valid"] & files["test"]
    assert set.union(*files.values()) == set(tone_folder.iterdir())
    for name, loader in (("train", dm.train_dataloader()), ("valid", dm.val_dataloader()),
                         ("test", dm.test_dataloader())):
        allowed = [300.0 + 150.0 * int(p.stem[1:]) for p in files[name]]
        batch = next(iter(loader))
        assert batch["dry"].shape == (4, 1, T)
        for x in batch["dry"][:, 0]:
            assert min(abs(dominant_hz(x) - f) for f in allowed) <= 4.0, name


def test_item_counts_none_mean_passes_over_the_files_of_each_split(tone_folder):
    dm = make_module(source="folder", root=str(tone_folder), train_items=None, val_items=None,
                     test_items=None)
    dm.setup()
    sizes = [len(s.clips.files) for s in (dm.train_set, dm.val_set, dm.test_set)]
    assert sum(sizes) == 10
    assert [len(s) for s in (dm.train_set, dm.val_set, dm.test_set)] == \
        [5 * sizes[0], 5 * sizes[1], 10 * sizes[2]]
    custom = make_module(source="folder", root=str(tone_folder), train_items=None,
                         train_passes=2, test_items=None, test_passes=3)
    custom.setup()
    assert [len(custom.train_set), len(custom.val_set), len(custom.test_set)] == \
        [2 * sizes[0], 6, 3 * sizes[2]]
    with pytest.raises(ValueError, match="train_items=None.*synthetic"):
        make_module(train_items=None)
    with pytest.raises(ValueError, match="val_passes"):
        make_module(source="folder", root=str(tone_folder), val_passes=0)


def test_skip_bad_files_reaches_the_clip_sources(tone_folder):
    (tone_folder / "broken.wav").write_bytes(b"not audio at all " * 64)
    strict = make_module(source="folder", root=str(tone_folder), train_items=64)
    strict.setup("fit")
    assert not strict.train_set.clips.skip_bad_files
    lenient = make_module(source="folder", root=str(tone_folder), train_items=64,
                          skip_bad_files=True)
    lenient.setup("fit")
    assert lenient.train_set.clips.skip_bad_files and lenient.val_set.clips.skip_bad_files
    # the hash of "broken.wav" sends it to the train split (test_clips checks the rule)
    assert "broken.wav" in {p.name for p in lenient.train_set.clips.files}
    with pytest.warns(UserWarning, match="broken.wav"):
        batches = list(lenient.train_dataloader())
    assert sum(b["dry"].shape[0] for b in batches) == 64
    with pytest.raises(ValueError, match="broken.wav"):
        list(strict.train_dataloader())
    with pytest.raises(ValueError, match="skip_bad_files"):
        make_module(skip_bad_files=1)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="source"):
        make_module(source="youtube")
    with pytest.raises(ValueError, match="root"):
        make_module(source="folder")
    with pytest.raises(ValueError, match="root"):
        make_module(source="folder", root="/nonexistent/dasp_blind/folder").setup()
    with pytest.raises(ValueError, match="batch_size"):
        make_module(batch_size=0)
    with pytest.raises(ValueError, match="effect"):
        make_module(effect=torch.nn.Identity())
    # checked when the module is built, before any training starts
    for kwargs, name in (({"duration_s": -1.0}, "duration_s"), ({"duration_s": 0}, "duration_s"),
                         ({"sample_rate": 0}, "sample_rate"), ({"seed": -1}, "seed")):
        with pytest.raises(ValueError, match=name):
            make_module(**kwargs)


def test_dynamics_reach_the_synthetic_clips():
    dm = make_module(dynamics=True)
    dm.setup("fit")
    assert dm.train_set.clips.dynamics and dm.val_set.clips.dynamics
    assert not make_module().train_dataloader().dataset.clips.dynamics


def test_redraw_gives_new_training_pairs_every_epoch():
    dm = make_module(redraw=True)
    dm.setup()
    loader = dm.train_dataloader()
    assert isinstance(loader.sampler, EpochSampler)
    fixed = [dm.train_set[i]["q"] for i in range(8)]
    loader.sampler.set_epoch(0)
    epochs = [list(loader), list(loader), list(loader)]  # the sampler counts the epochs
    qs = [torch.cat([b["q"] for b in batches]) for batches in epochs]
    # epoch 0 is the fixed set (shuffled); later epochs are new clips and controls
    assert sorted(map(tuple, qs[0].tolist())) == sorted(tuple(q.tolist()) for q in fixed)
    for later in qs[1:]:
        assert not any(torch.equal(q, f) for q in later for f in fixed)
    assert not torch.equal(torch.sort(qs[1], dim=0)[0], torch.sort(qs[2], dim=0)[0])
    # reproducible from the epoch alone, and the same with persistent workers
    parallel = make_module(redraw=True, num_workers=2)
    parallel_loader = parallel.train_dataloader()
    parallel_loader.sampler.set_epoch(1)
    got = [list(parallel_loader), list(parallel_loader)]  # epochs 1 and 2
    for batches, expected in zip(got, epochs[1:], strict=True):
        for a, b in zip(batches, expected, strict=True):
            for key in ("dry", "wet", "q"):
                assert torch.equal(a[key], b[key]), key
    del parallel_loader, got
    gc.collect()
    # validation stays fixed, and without redraw so does training
    assert isinstance(make_module().train_dataloader().sampler, RandomSampler)
    val = [torch.cat([b["q"] for b in dm.val_dataloader()]) for _ in range(2)]
    assert torch.equal(*val)


def test_a_trainer_sees_new_pairs_every_epoch():
    import pytorch_lightning as pl

    class Recorder(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.zeros(1))
            self.seen: dict[int, list[torch.Tensor]] = {}

        def training_step(self, batch, batch_idx):
            self.seen.setdefault(self.current_epoch, []).append(batch["q"])
            return (self.weight * batch["q"].mean()).sum()

        def validation_step(self, batch, batch_idx):
            return None

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.0)

    dm = make_module(redraw=True)
    model = Recorder()
    pl.Trainer(max_epochs=2, limit_val_batches=0, logger=False, enable_checkpointing=False,
               enable_progress_bar=False, enable_model_summary=False,
               accelerator="cpu").fit(model, datamodule=dm)
    first, second = (torch.cat(model.seen[e]) for e in (0, 1))
    assert first.shape == second.shape == (8, 6)
    fixed = {tuple(dm.train_set[i]["q"].tolist()) for i in range(8)}
    assert {tuple(q.tolist()) for q in first} == fixed
    assert not {tuple(q.tolist()) for q in second} & fixed


def test_jsonargparse_builds_it_from_yaml_config():
    import jsonargparse
    parser = jsonargparse.ArgumentParser()
    parser.add_class_arguments(EffectDataModule, "data")
    cfg = parser.parse_string(
        "data:\n"
        "  effect:\n"
        "    class_path: dasp_blind.effects.Compressor\n"
        "    init_args: {sample_rate: 16000}\n"
        "  duration_s: 0.25\n"
        "  sample_rate: 16000\n"
        "  batch_size: 2\n"
        "  train_items: 4\n")
    instantiate = getattr(parser, "instantiate", None) or parser.instantiate_classes
    dm = instantiate(cfg)["data"]
    assert isinstance(dm, EffectDataModule)
    assert isinstance(dm.effect, Compressor) and dm.effect.sample_rate == 16000
    dm.setup("fit")
    assert next(iter(dm.train_dataloader()))["wet"].shape == (2, 1, T)


def test_import_dasp_blind_data_does_not_import_lightning():
    code = ("import sys, dasp_blind.data as d; "
            "assert 'EffectDataModule' not in dir(d); "
            "assert 'pytorch_lightning' not in sys.modules and 'lightning' not in sys.modules; "
            "assert 'torchaudio' not in sys.modules; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"

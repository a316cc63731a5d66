"""LightningModules that train the library's networks (imports pytorch-lightning)."""

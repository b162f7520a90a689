"""A tiny Lightning classifier on iris, importable by name so saved modules unpickle."""

from __future__ import annotations

import lightning.pytorch as pl
import torch
from sklearn.datasets import load_iris
from torch.utils.data import DataLoader, TensorDataset


class IrisClassifier(pl.LightningModule):
    def __init__(self, hidden: int = 8, lr: float = 0.05) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = torch.nn.Sequential(torch.nn.Linear(4, hidden), torch.nn.ReLU(),
                                       torch.nn.Linear(hidden, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch, batch_idx):  # type: ignore[no-untyped-def]
        x, y = batch
        loss = torch.nn.functional.cross_entropy(self(x), y)
        self.log("train_loss", loss, on_step=True, on_epoch=True)
        return loss

    def validation_step(self, batch, batch_idx):  # type: ignore[no-untyped-def]
        x, y = batch
        accuracy = (self(x).argmax(dim=1) == y).float().mean()
        self.log("val_acc", accuracy, on_epoch=True)

    def configure_optimizers(self):  # type: ignore[no-untyped-def]
        return torch.optim.Adam(self.parameters(), lr=self.hparams.lr)


def iris_loaders() -> tuple[DataLoader, DataLoader, torch.Tensor]:
    x, y = load_iris(return_X_y=True)
    data = TensorDataset(torch.tensor(x, dtype=torch.float32), torch.tensor(y))
    return DataLoader(data, batch_size=50, shuffle=False), DataLoader(data, batch_size=150), data.tensors[0]


def trainer(max_epochs: int, tmp_path: str) -> pl.Trainer:
    return pl.Trainer(max_epochs=max_epochs, logger=False, enable_progress_bar=False,
                      enable_model_summary=False, default_root_dir=tmp_path, accelerator="cpu")

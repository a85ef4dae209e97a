"""The ServerApp: Flower's FedAvg over every SuperNode for `num-server-rounds` rounds."""

from __future__ import annotations

import random

import torch
from flwr.app import ArrayRecord, ConfigRecord, Context
from flwr.serverapp import Grid, ServerApp
from flwr.serverapp.strategy import FedAvg

from digitsexample.task import Net

app = ServerApp()


@app.main()
def main(grid: Grid, context: Context) -> None:
    config = context.run_config
    # The same initial model, node sampling (Flower samples with `random`) and batch order in every run.
    random.seed(int(config["seed"]))
    torch.manual_seed(int(config["seed"]))
    strategy = FedAvg(fraction_train=1.0, fraction_evaluate=float(config["fraction-evaluate"]))
    strategy.start(
        grid=grid,
        initial_arrays=ArrayRecord(Net().state_dict()),
        train_config=ConfigRecord({"lr": float(config["learning-rate"])}),
        num_rounds=int(config["num-server-rounds"]),
    )

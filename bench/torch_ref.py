"""PyTorch CPU reference for lightpath's throughput benchmark.

Trains the same models as bench/run.ts (MLP 784-512-512-10 and the small CNN:
conv3x3(32)-ReLU-maxpool2 -> conv3x3(64)-ReLU-maxpool2 -> dense(128)-ReLU -> dense(10))
with the same batch size and optimizer on random data, and prints one JSON object
with samples/s per model. Optimizers: adamw (lr 1e-3, decoupled weight decay 1e-4)
and sgd (lr 1e-2, momentum 0.9, coupled weight decay 1e-4), as bench/run.ts sets them.
Usage: python3 torch_ref.py --threads 1 --batch 128 --steps 50 [--optimizer sgd] [--device cuda]
"""
import argparse
import json
import time

import torch
from torch import nn


def mlp():
    return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))


def cnn():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10),
    )


def optimizer(name, params):
    if name == "sgd":
        return torch.optim.SGD(params, lr=1e-2, momentum=0.9, weight_decay=1e-4)
    return torch.optim.AdamW(params, lr=1e-3, weight_decay=1e-4)


def throughput(model, shape, batch, steps, device, opt_name):
    model = model.to(device)
    opt = optimizer(opt_name, model.parameters())
    loss_fn = nn.CrossEntropyLoss()
    x = torch.rand(batch, *shape, device=device)
    y = torch.randint(0, 10, (batch,), device=device)
    for _ in range(5):
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return batch * steps / (time.perf_counter() - t0)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--device", default="cpu")
    p.add_argument("--optimizer", default="adamw", choices=["adamw", "sgd"])
    a = p.parse_args()
    device = torch.device(a.device)
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    out = {
        "torch": torch.__version__,
        "threads": a.threads,
        "device": str(device),
        "batch": a.batch,
        "optimizer": a.optimizer,
        "mlp": throughput(mlp(), (784,), a.batch, a.steps, device, a.optimizer),
        "cnn": throughput(cnn(), (1, 28, 28), a.batch, max(5, a.steps // 5), device, a.optimizer),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()

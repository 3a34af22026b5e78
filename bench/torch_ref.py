"""PyTorch CPU reference for lightpath's throughput benchmark.

Trains the same models as bench/run.ts (MLP 784-512-512-10 and the small CNN:
conv3x3(32)-ReLU-maxpool2 -> conv3x3(64)-ReLU-maxpool2 -> dense(128)-ReLU -> dense(10))
with the same batch size and optimizer on random data, and prints one JSON object
with samples/s per model. Optimizers: adamw (lr 1e-3, decoupled weight decay 1e-4)
and sgd (lr 1e-2, momentum 0.9, coupled weight decay 1e-4), as bench/run.ts sets them.

Two loops per model:
- `mlp`, `cnn`: one epoch as lightpath's trainer runs it (the loop bench/run.ts
  times): a data set of --batches batches (the CNN a fifth of them), shuffled,
  each batch gathered from it, the loss and the correct count summed as tensors
  and read at the epoch's end;
- `mlpStepLoop`, `cnnStepLoop`: --steps steps on one fixed batch, nothing read
  back, PyTorch's best case.
Usage: python3 torch_ref.py --threads 1 --batch 128 --batches 100 --steps 50 [--optimizer sgd] [--device cuda]
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


def train_step(model, opt, loss_fn, x, y):
    opt.zero_grad()
    out = model(x)
    loss = loss_fn(out, y)
    loss.backward()
    opt.step()
    return out, loss


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def step_loop(model, opt, loss_fn, x, y, steps, device):
    """Samples/s of `steps` steps on the one batch (x, y)."""
    t0 = time.perf_counter()
    for _ in range(steps):
        train_step(model, opt, loss_fn, x, y)
    synchronize(device)
    return x.shape[0] * steps / (time.perf_counter() - t0)


def epoch_loop(model, opt, loss_fn, xs, ys, batch, device):
    """Samples/s of one epoch over (xs, ys): shuffled batches, loss and correct count summed, read at the end."""
    t0 = time.perf_counter()
    order = torch.randperm(xs.shape[0], device=device)
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), dtype=torch.long, device=device)
    for lo in range(0, xs.shape[0], batch):
        rows = order[lo:lo + batch]
        y = ys[rows]
        out, loss = train_step(model, opt, loss_fn, xs[rows], y)
        with torch.no_grad():
            loss_sum += loss * y.shape[0]
            correct += (out.argmax(1) == y).sum()
    loss_sum.item(), correct.item()
    synchronize(device)
    return xs.shape[0] / (time.perf_counter() - t0)


def throughput(make, shape, batch, batches, steps, device, opt_name):
    """Samples/s of the epoch loop and of the step loop, each on a new model after 5 warm-up steps."""
    loss_fn = nn.CrossEntropyLoss()
    xs = torch.rand(batch * batches, *shape, device=device)
    ys = torch.randint(0, 10, (batch * batches,), device=device)
    result = []
    for loop in (epoch_loop, step_loop):
        model = make().to(device)
        opt = optimizer(opt_name, model.parameters())
        for _ in range(5):
            train_step(model, opt, loss_fn, xs[:batch], ys[:batch])
        synchronize(device)
        if loop is epoch_loop:
            result.append(epoch_loop(model, opt, loss_fn, xs, ys, batch, device))
        else:
            result.append(step_loop(model, opt, loss_fn, xs[:batch], ys[:batch], steps, device))
    return result


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--batches", type=int, default=100)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--device", default="cpu")
    p.add_argument("--optimizer", default="adamw", choices=["adamw", "sgd"])
    a = p.parse_args()
    device = torch.device(a.device)
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    mlp_epoch, mlp_steps = throughput(mlp, (784,), a.batch, a.batches, a.steps, device, a.optimizer)
    cnn_epoch, cnn_steps = throughput(cnn, (1, 28, 28), a.batch, max(1, a.batches // 5), max(5, a.steps // 5), device, a.optimizer)
    out = {
        "torch": torch.__version__,
        "threads": a.threads,
        "device": str(device),
        "batch": a.batch,
        "optimizer": a.optimizer,
        "mlp": mlp_epoch,
        "cnn": cnn_epoch,
        "mlpStepLoop": mlp_steps,
        "cnnStepLoop": cnn_steps,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()

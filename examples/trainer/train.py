"""Reference trainer for gkeml jobs: a small model trained with DDP through torchrun.

What the rendered jobs run by default (``torchrun ... train.py --steps=N
--checkpoint-every=K --checkpoint-dir=$(CHECKPOINT_DIR)``):

* DDP with NCCL on GPUs, gloo on CPU; one worker per GPU (torchrun sets the ranks).
* Checkpoints every K steps, on SIGTERM (Spot preemption: the kubelet signals
  torchrun, torchrun forwards to every worker) and at the end; the newest
  checkpoint is resumed on start. Files are written to a temporary name and
  renamed, so a kill mid-write never leaves a truncated ``step-*.pt``.
* Training data is synthetic and a pure function of (rank, step): a resumed run
  computes exactly what an uninterrupted run would have. Replace
  :func:`batch` with your data loader.
* Progress is printed as ``gkeml-trainer event=... key=value`` lines; W&B is
  used when ``WANDB_API_KEY`` is set (from a Secret) and ``wandb`` is installed.

Exit codes: 0 finished; 143 stopped by SIGTERM (or a peer's) after checkpointing.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import signal
import sys
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

EXIT_STOPPED = 128 + signal.SIGTERM
CHECKPOINT = re.compile(r"^step-(\d{9})\.pt$")
KEEP_CHECKPOINTS = 3
FEATURES = 32
HIDDEN = 128


class StopRequest:
    """Set by the SIGTERM handler; acted on at the next step boundary."""

    requested = False

    @classmethod
    def handle(cls, signum, frame) -> None:  # noqa: ARG003 (signal handler signature)
        """Signal handler: only records the request (saving inside a handler is unsafe)."""
        cls.requested = True


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line arguments of the trainer."""
    p = argparse.ArgumentParser(description="gkeml reference DDP trainer")
    p.add_argument("--steps", type=int, required=True, help="total optimizer steps")
    p.add_argument("--checkpoint-every", type=int, required=True, help="save every N steps")
    p.add_argument("--checkpoint-dir", required=True, help="shared directory (GCS FUSE mount) for step-*.pt")
    p.add_argument("--batch-size", type=int, default=64, help="samples per worker and step")
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--log-every", type=int, default=10)
    return p.parse_args(argv)


def log(**fields) -> None:
    """One machine-readable progress line on stdout."""
    # One write per line, so lines of workers sharing a pipe never interleave.
    sys.stdout.write("gkeml-trainer " + " ".join(f"{k}={v}" for k, v in fields.items()) + "\n")
    sys.stdout.flush()


def make_model(seed: int) -> nn.Module:
    """A small MLP regressor; every rank builds the same initial weights."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(FEATURES, HIDDEN), nn.Tanh(), nn.Linear(HIDDEN, 1))


def batch(seed: int, step: int, rank: int, size: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Synthetic regression batch, a pure function of (seed, step, rank): different per rank."""
    truth = torch.Generator().manual_seed(seed + 1)
    weights = torch.randn(FEATURES, 1, generator=truth)
    g = torch.Generator().manual_seed(((seed * 1_000_003) + step) * 65_537 + rank)
    x = torch.randn(size, FEATURES, generator=g)
    y = torch.tanh(x @ weights / FEATURES**0.5) + 0.01 * torch.randn(size, 1, generator=g)
    return x.to(device), y.to(device)


def newest_checkpoint(directory: Path) -> tuple[int, Path] | None:
    """(step, path) of the newest complete checkpoint, or None."""
    found = [(int(m.group(1)), p) for p in directory.glob("step-*.pt") if (m := CHECKPOINT.match(p.name))]
    return max(found) if found else None


def save_checkpoint(directory: Path, step: int, model: nn.Module, optimizer: torch.optim.Optimizer) -> Path:
    """Write ``step-<step>.pt`` atomically (temporary file, then rename) and prune old ones."""
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / f"step-{step:09d}.pt"
    tmp = directory / f".{final.name}.{os.getpid()}.tmp"
    torch.save({"step": step, "model": model.state_dict(), "optimizer": optimizer.state_dict()}, tmp)
    os.replace(tmp, final)
    complete = sorted(p for p in directory.glob("step-*.pt") if CHECKPOINT.match(p.name))
    for old in complete[:-KEEP_CHECKPOINTS]:
        old.unlink(missing_ok=True)
    return final


def params_digest(model: nn.Module) -> str:
    """SHA-256 of all parameters: equal on every rank when DDP kept them in sync."""
    h = hashlib.sha256()
    for tensor in model.state_dict().values():
        h.update(repr(tensor.detach().cpu().double().flatten().tolist()).encode())  # exact for float32
    return h.hexdigest()[:16]


def wandb_run(rank: int):
    """A W&B run on rank 0 when an API key is configured and wandb is installed, else None."""
    if rank != 0 or not os.environ.get("WANDB_API_KEY"):
        return None
    try:
        import wandb
    except ImportError:
        log(event="warning", message="WANDB_API_KEY_set_but_wandb_not_installed")
        return None
    return wandb.init(resume="allow")


def main(argv: list[str] | None = None) -> int:
    """Train; returns the process exit code."""
    signal.signal(signal.SIGTERM, StopRequest.handle)
    args = parse_args(argv)
    use_cuda = torch.cuda.is_available()
    dist.init_process_group("nccl" if use_cuda else "gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = torch.device("cuda", local_rank) if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(device)

    model = make_model(args.seed).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    checkpoints = Path(args.checkpoint_dir)
    start = 0
    newest = newest_checkpoint(checkpoints)
    if newest is not None:
        state = torch.load(newest[1], map_location=device, weights_only=True)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start = state["step"]
        if rank == 0:
            log(event="resumed", step=start, path=newest[1])
    ddp = DistributedDataParallel(model, device_ids=[local_rank] if use_cuda else None)
    run = wandb_run(rank)
    loss_fn = nn.MSELoss()
    stop = torch.zeros(1, device=device)
    step = start
    for step in range(start + 1, args.steps + 1):
        x, y = batch(args.seed, step, rank, args.batch_size, device)
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(ddp(x), y)
        loss.backward()
        optimizer.step()
        if rank == 0 and step % args.log_every == 0:
            log(event="step", step=step, loss=f"{loss.item():.5f}")
            if run is not None:
                run.log({"loss": loss.item()}, step=step)
        # Every rank learns whether any rank (on any node) was asked to stop.
        stop.fill_(1.0 if StopRequest.requested else 0.0)
        dist.all_reduce(stop, op=dist.ReduceOp.MAX)
        interval = step % args.checkpoint_every == 0
        if rank == 0 and (interval or stop.item()):
            path = save_checkpoint(checkpoints, step, model, optimizer)
            log(
                event="checkpoint",
                step=step,
                reason="sigterm" if stop.item() and not interval else "interval",
                path=path,
            )
        if stop.item():
            dist.barrier()  # the checkpoint is on disk before anyone exits
            log(event="stopped", rank=rank, step=step)
            dist.destroy_process_group()
            return EXIT_STOPPED
    if rank == 0 and step % args.checkpoint_every != 0 and step > start:
        path = save_checkpoint(checkpoints, step, model, optimizer)
        log(event="checkpoint", step=step, reason="final", path=path)
    log(event="done", rank=rank, world=world, step=step, params=params_digest(model))
    if run is not None:
        run.finish()
    dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())

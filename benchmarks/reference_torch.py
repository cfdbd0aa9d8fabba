"""The PyTorch reference: the official toy-models notebook's training algorithm, written out again.

Owns: a faithful re-implementation of the notebook's loop, used only as the baseline superpose is timed
against. The notebook keeps every instance in one module with an instance axis, draws a fresh batch every
step with two uniforms per element (one for the value, one for "is this feature active?"), runs the model as
two einsums, sums the per-instance mean losses and takes one torch.optim.AdamW step, all in a Python loop.
We keep exactly that, including its batch-major layout [batch, instance, feature]; we do not tune it, since
the point is to measure how fast the notebook's way of working is on this machine.

Runs on whatever torch device is given ("cpu" or "cuda"); `sync` makes timings honest on a GPU.
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F


class ToyModels(torch.nn.Module):
    """n_instances ReLU-output toy models: x' = ReLU(W^T W x + b), W per instance as [n_features, n_hidden]
    (the notebook's axis order), trained together on one summed loss."""

    def __init__(self, n_instances: int, n_features: int, n_hidden: int, feature_prob, importance, device):
        super().__init__()
        self.W = torch.nn.Parameter(torch.empty((n_instances, n_features, n_hidden), device=device))
        torch.nn.init.xavier_normal_(self.W)
        self.b_final = torch.nn.Parameter(torch.zeros((n_instances, n_features), device=device))
        # [n_instances, n_features], broadcast against the batch axis in front.
        self.feature_prob = torch.as_tensor(feature_prob, dtype=torch.float32, device=device)
        self.importance = torch.as_tensor(importance, dtype=torch.float32, device=device)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """features [batch, instance, feature] -> reconstruction of the same shape."""
        hidden = torch.einsum("bif,ifh->bih", features, self.W)
        out = torch.einsum("bih,ifh->bif", hidden, self.W)
        return F.relu(out + self.b_final)

    def generate_batch(self, batch_size: int) -> torch.Tensor:
        """A fresh sparse batch [batch, instance, feature]: two uniforms per element, as the notebook does."""
        shape = (batch_size, *self.W.shape[:2])
        values = torch.rand(shape, device=self.W.device)
        active = torch.rand(shape, device=self.W.device) <= self.feature_prob
        return torch.where(active, values, torch.zeros((), device=self.W.device))


def sync(device) -> None:
    """Wait for queued device work (a no-op on the CPU)."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def train(model: ToyModels, n_steps: int, batch_size: int = 1024, lr: float = 1e-3, print_every: int = 100):
    """The notebook's optimisation loop (constant learning rate). Returns the last loss per instance."""
    opt = torch.optim.AdamW(list(model.parameters()), lr=lr)  # torch's default weight decay is 0.01
    loss = None
    for step in range(n_steps):
        opt.zero_grad(set_to_none=True)
        batch = model.generate_batch(batch_size)
        out = model(batch)
        error = model.importance * (batch.abs() - out) ** 2
        loss = error.mean(dim=(0, 2)).sum()  # mean per instance, summed over instances
        loss.backward()
        opt.step()
        if step % print_every == 0:
            loss.item()  # the notebook reads the loss back for its progress bar at this rate
    return None if loss is None else loss.item() / model.W.shape[0]


def time_training(
    n_instances: int,
    n_features: int,
    n_hidden: int,
    batch_size: int,
    n_steps: int,
    repeats: int,
    feature_prob: float = 0.1,
    device: str = "cpu",
    seed: int = 0,
) -> dict:
    """Build the models, warm up, then time `repeats` runs of `n_steps` steps. Seconds per run, best first."""
    torch.manual_seed(seed)
    prob = torch.full((n_instances, n_features), feature_prob)
    importance = torch.ones((n_instances, n_features))
    model = ToyModels(n_instances, n_features, n_hidden, prob, importance, device)
    train(model, min(10, n_steps), batch_size)  # warm-up: allocator, thread pool, kernels
    sync(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        train(model, n_steps, batch_size)
        sync(device)
        times.append(time.perf_counter() - start)
    return {"times": times, "threads": torch.get_num_threads(), "version": torch.__version__}

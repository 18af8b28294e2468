"""Where training runs: every visible GPU (several: ultralytics DDP), or the CPU, and at which precision.

Ultralytics' fp16 AMP check downloads a checkpoint (a network attempt in a job that must make none). On GPUs with
bfloat16 (compute capability 8.0+: A10G, L4, A100, H100...) bf16 autocast needs no check; older GPUs (T4, V100)
keep ultralytics' fp16 AMP, whose check fails fast offline and leaves AMP on.
"""

from __future__ import annotations

from dataclasses import dataclass

from containers.common.contract import JobFailure

__all__ = ["Placement", "place"]


@dataclass(frozen=True)
class Placement:
    device: str  # as ultralytics takes it: "cpu", "0", "0,1,..."
    gpus: int
    amp: bool | str  # ultralytics' `amp` argument: True (fp16 after its check), "bf16", or False

    @property
    def distributed(self) -> bool:
        return self.gpus > 1


def place(requested: str | None, batch: int) -> Placement:
    """Resolve the ``device`` hyperparameter (None: all visible GPUs, else the CPU).

    Raises:
        JobFailure: a GPU is asked for but CUDA sees none or not that one; the batch does not split across the GPUs.
    """
    import torch

    visible = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if requested is None:
        indices = list(range(visible))
    elif requested == "cpu":
        indices = []
    else:
        if not visible:
            raise JobFailure(f"hyperparameter device={requested!r} asks for a GPU, but CUDA sees none "
                             "(torch.cuda.is_available() is False): use device=cpu or a GPU instance type")
        indices = list(range(visible)) if requested == "cuda" else _indices(requested)
        missing = [i for i in indices if i >= visible]
        if missing:
            raise JobFailure(f"hyperparameter device={requested!r} names GPU {missing[0]}, but only {visible} "
                             f"{'is' if visible == 1 else 'are'} visible (0..{visible - 1})")
    if not indices:
        return Placement("cpu", 0, False)
    if batch % len(indices):
        raise JobFailure(f"hyperparameter batch={batch} must be a multiple of the number of GPUs ({len(indices)}): "
                         "the batch is split evenly across them")
    bf16 = all(torch.cuda.get_device_capability(i)[0] >= 8 for i in indices)
    return Placement(",".join(map(str, indices)), len(indices), "bf16" if bf16 else True)


def _indices(requested: str) -> list[int]:
    """'cuda:1' -> [1]; '0,1' -> [0, 1] (the syntax was checked with the other hyperparameters)."""
    return [int(part) for part in requested.removeprefix("cuda:").split(",")]

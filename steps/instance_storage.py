"""Which SageMaker instance types have local NVMe instance storage, where a volume KMS key is refused.

CreateTrainingJob ResourceConfig.VolumeKmsKeyId and CreateProcessingJob ClusterConfig.VolumeKmsKeyId: "Certain
Nitro-based instances include local storage ... encrypted using a hardware module on the instance. You can't request a
VolumeKmsKeyId when using an instance type with local storage." (AWS API reference, ResourceConfig; the families are
those of the EC2 doc "Instance store volumes"). No SDK import: the validator uses this too.
"""

from __future__ import annotations

import re

__all__ = ["has_instance_storage"]

# GPU and accelerator families whose every size has NVMe instance storage.
_FAMILIES = frozenset({"g4dn", "g5", "g6", "g6e", "gr6", "p3dn", "p4d", "p4de", "p5", "p5e", "p5en", "trn1",
                       "trn1n", "trn2"})
# General purpose, compute and memory families with a "d" attribute: m5d, c5d, r5d, m5dn, m6id, c6id, r6id, ...
_D_FAMILY = re.compile(r"^[a-z]+\d+[a-z]*d[a-z]*$")


def has_instance_storage(instance_type: str) -> bool:
    """``ml.g5.xlarge`` -> True, ``ml.m5.xlarge`` -> False."""
    family = instance_type.removeprefix("ml.").split(".", 1)[0]
    return family in _FAMILIES or bool(_D_FAMILY.match(family))

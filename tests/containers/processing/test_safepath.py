"""InputRoot.walk: every regular file under a folder, in Path order (component by component), whatever the names."""

from __future__ import annotations

import random
from pathlib import Path

from containers.processing.safepath import InputRoot


def test_walk_lists_files_in_path_order(tmp_path):
    """Path order is not string order: 'a/b.jpg' sorts before 'a-c.jpg' ('a' < 'a-c.jpg'), while as strings '-'
    comes before '/'. Readers and reports depend on this order, so the walk must keep it."""
    root = tmp_path / "raw"
    rng = random.Random(0)
    names = {"a-c.jpg", "a/b.jpg", "a.b/c.jpg", "a/b/c.jpg", "ab.jpg", "A.jpg", "a b.jpg", "é.jpg", "a_/x.jpg"}
    names |= {"/".join("".join(rng.choice("ab-._ Z9") for _ in range(rng.randint(1, 4))) for _ in range(
        rng.randint(1, 3))) + ".jpg" for _ in range(200)}
    created = set()
    for name in names:
        path = root / name
        if any(part.startswith(".") for part in Path(name).parts):
            continue  # hidden names are skipped by the walk
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"x")
        except (FileExistsError, NotADirectoryError, IsADirectoryError):
            continue  # a name that is a folder of another name
        created.add(path)
    files, refused = InputRoot(root).walk(root)
    assert refused == []
    assert [Path(f) for f in files] == sorted(p for p in created if p.is_file())
    assert files != sorted(files)  # the names do tell the two orders apart

"""Images a Ground Truth manifest names by ``s3://`` URI that are not in the job's input: fetched from the bucket.

On SageMaker a processing job downloads only its inputs, and a labeling job's images usually live under another
prefix than its manifest; the job's role can read them, so the processing code fetches them with boto3
(detected by the processing contract's ``/opt/ml/config/processingjobconfig.json``, see "How Amazon SageMaker
Processing Runs Your Processing Container Image"). Local mode maps ``s3://bucket/key`` to ``<store>/bucket/key``
(``pipelines/local/store.py``) and passes the store's root in ``LOCAL_S3_ROOT``; objects are then read from there.
Elsewhere (tests, a bare run) nothing is fetched and the image is reported missing.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath

from containers.common import contract
from containers.processing.safepath import InputRoot, OutsideInput, excerpt

LOCAL_STORE_ENV = "LOCAL_S3_ROOT"
FETCH_THREADS = 16


class FetchError(ValueError):
    """An object that could not be fetched; the message says why."""


def split_uri(uri: str) -> tuple[str, list[str]]:
    """``s3://bucket/a/b.jpg`` -> ("bucket", ["a", "b.jpg"]).

    Raises:
        FetchError: no bucket, or a key with ``..`` or empty parts that could climb out of a folder.
    """
    bucket, _, key = uri[len("s3://"):].partition("/")
    parts = key.split("/")
    if not bucket or bucket in (".", "..") or not key or any(p in ("", ".", "..") for p in parts) or "\0" in key:
        raise FetchError(f"source-ref {excerpt(uri, 80)} is not an s3://bucket/key URI with a plain key")
    return bucket, parts


class ObjectFetcher:
    """Fetches ``s3://`` objects for one job into ``cache`` (or reads them from the local object store)."""

    def __init__(self, cache: Path):
        self.cache = cache
        local = os.environ.get(LOCAL_STORE_ENV)
        self.local = InputRoot(Path(local)) if local else None
        self.on_sagemaker = (contract.root() / "config" / "processingjobconfig.json").is_file()
        self._client = None

    @property
    def source(self) -> str | None:
        """Where objects come from ("local object store", "S3"), None when this job cannot fetch."""
        if self.local is not None:
            return "local object store"
        return "S3" if self.on_sagemaker else None

    def fetch_all(self, uris: list[str]) -> dict[str, Path | str]:
        """URI -> local file, or the reason it could not be fetched."""
        if self.source is None:
            return dict.fromkeys(uris, "not fetched: this job is not a SageMaker processing job and "
                                       f"{LOCAL_STORE_ENV} is unset")
        if self.local is None:
            self._s3()  # created once, before the threads share it
        with ThreadPoolExecutor(FETCH_THREADS) as pool:
            return dict(zip(uris, pool.map(self._fetch_or_reason, uris), strict=True))

    def _fetch_or_reason(self, uri: str) -> Path | str:
        try:
            return self.fetch(uri)
        except FetchError as exc:
            return str(exc)

    def fetch(self, uri: str) -> Path:
        """The local file of ``uri``.

        Raises:
            FetchError: a bad URI, a missing or unreadable object.
        """
        bucket, parts = split_uri(uri)
        if self.local is not None:
            try:
                return self.local.file(self.local.root.joinpath(bucket, *parts))
            except OutsideInput as exc:
                raise FetchError(f"{excerpt(uri, 80)} is not in the local object store ({exc})") from None
        target = self.cache.joinpath(bucket, *parts)
        if target.is_file():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.part")
        try:
            self._s3().download_file(bucket, str(PurePosixPath(*parts)), str(partial))
        except Exception as exc:  # botocore reports missing objects, permissions and network with many types
            partial.unlink(missing_ok=True)
            raise FetchError(f"could not fetch {excerpt(uri, 80)} from S3: {type(exc).__name__}: "
                             f"{excerpt(str(exc), 120)}") from None
        partial.rename(target)
        return target

    def _s3(self):
        if self._client is None:
            import boto3  # only a job that fetches needs it
            from botocore.config import Config

            self._client = boto3.client("s3", config=Config(retries={"max_attempts": 3}, connect_timeout=10,
                                                            max_pool_connections=FETCH_THREADS))
        return self._client

"""A Triton model repository on S3 (boto3): versions staged under a temp prefix, then copied into place.

S3 has no rename, so "atomic" here means: every file of a version is uploaded under
`<prefix>/<model>/.staging/<id>/` first, copied to `<prefix>/<model>/<n>/` only once all uploads succeeded,
and config.pbtxt (a single PUT, which S3 replaces atomically) is written last to pin n. Triton loads only
the pinned version, so it never reads a version whose copy is still running. Version numbers are claimed
without a lock: run one publisher per model at a time (the training DAG has max_active_runs=1).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STAGING = ".staging"


@dataclass(frozen=True)
class S3Repository:
    bucket: str
    prefix: str
    client: Any

    @classmethod
    def from_uri(cls, uri: str, endpoint_url: str | None = None, client: Any = None) -> S3Repository:
        import boto3

        bucket, _, prefix = uri.removeprefix("s3://").partition("/")
        if not bucket:
            raise ValueError(f"{uri!r}: expected s3://bucket/prefix")
        return cls(bucket, prefix.strip("/"), client or boto3.client("s3", endpoint_url=endpoint_url))

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")

    def _key(self, model: str, name: str) -> str:
        return "/".join(part for part in (self.prefix, model, name) if part)

    def _keys(self, prefix: str) -> list[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        return [
            obj["Key"]
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix)
            for obj in page.get("Contents", [])
        ]

    def versions(self, model: str) -> list[int]:
        paginator = self.client.get_paginator("list_objects_v2")
        names = set()
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self._key(model, "") + "/", Delimiter="/"):
            for common in page.get("CommonPrefixes", []):
                names.add(common["Prefix"].rstrip("/").rsplit("/", 1)[-1])
        return sorted(int(name) for name in names if name.isdigit())

    def read_text(self, model: str, name: str) -> str | None:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._key(model, name))["Body"]
        except self.client.exceptions.NoSuchKey:
            return None
        return body.read().decode()

    def write_text(self, model: str, name: str, text: str) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(model, name), Body=text.encode())

    def add_version(self, model: str, files: dict[str, Path], first: int) -> int:
        staging = self._key(model, f"{STAGING}/{uuid.uuid4().hex}")
        try:
            for name, source in files.items():
                self.client.upload_file(str(source), self.bucket, f"{staging}/{name}")
            version = max([first - 1, *self.versions(model)]) + 1
            for name in files:
                self.client.copy(
                    {"Bucket": self.bucket, "Key": f"{staging}/{name}"},
                    self.bucket,
                    self._key(model, f"{version}/{name}"),
                )
            return version
        finally:
            self._delete(self._keys(staging + "/"))

    def _delete(self, keys: list[str]) -> None:
        for i in range(0, len(keys), 1000):
            chunk = [{"Key": key} for key in keys[i : i + 1000]]
            self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": chunk, "Quiet": True})

    def remove_version(self, model: str, version: int) -> None:
        self._delete(self._keys(self._key(model, f"{version}/")))

    def fetch(self, model: str, name: str, dest: Path) -> Path:
        self.client.download_file(self.bucket, self._key(model, name), str(dest))
        return dest

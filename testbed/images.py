"""Push test images through the registry HTTP API v2, without a Docker daemon.

Every image shares one tiny deterministic gzip layer; each has its own config blob whose
``created`` is exactly the given string.  Blob upload is always POST then PUT (a POST with a
body is ignored by distribution); manifests go up with the exact Content-Type of their media
type (anything else: 400 MANIFEST_INVALID).  Lists and indexes push each child by digest first.

Kinds: ``docker2`` (Docker schema 2), ``oci`` (OCI manifest), ``list`` (Docker manifest list of
schema 2 children), ``index`` (OCI index of OCI children), ``schema1`` (signed schema 1).
"""

from __future__ import annotations

import base64
import functools
import gzip
import hashlib
import io
import json
import re
import tarfile
from typing import Any, Mapping, NamedTuple, Sequence

import requests

from testbed.schema1 import schema1_manifest, sign_schema1

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"
SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"

#: What a reader must send to get every kind as stored: the registry converts or refuses a manifest
#: whose media type the Accept header leaves out (distribution's docs/spec/manifest-v2-2.md,
#: "Backward compatibility").
ACCEPT_ALL = ", ".join([OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST, SCHEMA1_SIGNED])

KINDS = ("docker2", "oci", "list", "index", "schema1")
DEFAULT_PLATFORMS: tuple[str, ...] = ("linux/amd64", "linux/arm64")
_MEDIA_TYPE = {"docker2": DOCKER_MANIFEST, "oci": OCI_MANIFEST, "list": DOCKER_LIST, "index": OCI_INDEX}


class PushError(RuntimeError):
    """The registry refused part of a push; the message carries method, URL, status and body."""

    def __init__(self, response: requests.Response, what: str) -> None:
        self.response = response
        self.status = response.status_code
        super().__init__(
            f"{what}: {response.request.method} {response.url} -> {response.status_code} {response.text[:500]}"
        )


class Blob(NamedTuple):
    """Bytes and their digest."""

    data: bytes
    digest: str

    @classmethod
    def of(cls, data: bytes) -> "Blob":
        return cls(data, sha256_digest(data))


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical_json(value: Any) -> bytes:
    """Deterministic JSON bytes: same content, same digest."""
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


@functools.lru_cache(maxsize=None)
def shared_layer() -> tuple[Blob, str]:
    """The one layer every test image uses: (gzip blob, diff_id of the uncompressed tar)."""
    content = b"fleetrewind testbed layer\n"
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo("testbed.txt")
        info.size, info.mtime, info.mode, info.uid, info.gid = len(content), 0, 0o644, 0, 0
        tar.addfile(info, io.BytesIO(content))
    tar_bytes = raw.getvalue()
    return Blob.of(gzip.compress(tar_bytes, mtime=0)), sha256_digest(tar_bytes)


def parse_platform(platform: str) -> dict[str, str]:
    """``linux/arm/v7`` -> {"os": "linux", "architecture": "arm", "variant": "v7"}."""
    parts = platform.split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise ValueError(f"platform must look like os/arch[/variant] (found: {platform!r})")
    result = {"os": parts[0], "architecture": parts[1]}
    if len(parts) == 3:
        result["variant"] = parts[2]
    return result


def image_config(
    created: str | None,
    platform: str = "linux/amd64",
    *,
    labels: Mapping[str, str] | None = None,
) -> bytes:
    """A config blob; ``created`` exactly as given (None leaves the key out)."""
    _, diff_id = shared_layer()
    config: dict[str, Any] = {
        **parse_platform(platform),
        "config": {"Labels": dict(labels)} if labels else {},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created_by": "testbed layer"}],
    }
    if created is not None:
        config["created"] = created
        config["history"][0]["created"] = created
    return canonical_json(config)


_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')


class ImagePusher:
    """Pushes images to one registry over one requests Session, reusing blobs and tokens.

    ``auth`` is (user, password): used for Basic challenges, or to fetch Bearer tokens from
    the realm of a Bearer challenge.  ``verify`` goes on every request (REQUESTS_CA_BUNDLE
    would otherwise override a session-level verify).
    """

    def __init__(
        self,
        base_url: str,
        *,
        auth: tuple[str, str] | None = None,
        verify: str | bool = True,
        session: requests.Session | None = None,
        timeout: float = 15.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self.verify = verify
        self.session = session or requests.Session()
        self.timeout = timeout
        self._known_blobs: set[tuple[str, str]] = set()
        self._authorization: dict[str, str] = {}  # repo (or "" for Basic) -> header value

    # -- transport -------------------------------------------------------------------------

    def request(self, method: str, url: str, repo: str, **kwargs: Any) -> requests.Response:
        """One request, answering a 401 challenge once with the configured credentials."""
        if not url.startswith("http"):
            url = self.base_url + url
        headers = dict(kwargs.pop("headers", {}) or {})
        authz = self._authorization.get(repo) or self._authorization.get("")
        if authz:
            headers["Authorization"] = authz
        response = self.session.request(
            method, url, headers=headers, verify=self.verify, timeout=self.timeout, **kwargs
        )
        if response.status_code == 401 and self.auth is not None:
            authz = self._answer_challenge(response, repo)
            if authz:
                headers["Authorization"] = authz
                response = self.session.request(
                    method, url, headers=headers, verify=self.verify, timeout=self.timeout, **kwargs
                )
        return response

    def _answer_challenge(self, response: requests.Response, repo: str) -> str | None:
        assert self.auth is not None
        challenge = response.headers.get("WWW-Authenticate", "")
        scheme = challenge.split(" ", 1)[0].lower()
        if scheme == "basic":
            user, password = self.auth
            value = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
            self._authorization[""] = value
            return value
        if scheme != "bearer":
            return None
        params = dict(_CHALLENGE_PARAM.findall(challenge))
        scope = f"repository:{repo}:pull,push" if repo else params.get("scope", "")
        token_response = self.session.get(
            params["realm"],
            params={"service": params.get("service", ""), "scope": scope},
            auth=self.auth,
            verify=self.verify,
            timeout=self.timeout,
        )
        if token_response.status_code != 200:
            raise PushError(token_response, "token request refused")
        body = token_response.json()
        value = "Bearer " + (body.get("token") or body["access_token"])
        self._authorization[repo] = value
        return value

    # -- blobs -----------------------------------------------------------------------------

    def push_blob(self, repo: str, data: bytes) -> str:
        """Upload ``data`` unless the repo already has it (HEAD first); return its digest."""
        blob = Blob.of(data)
        if (repo, blob.digest) in self._known_blobs:
            return blob.digest
        head = self.request("HEAD", f"/v2/{repo}/blobs/{blob.digest}", repo)
        if head.status_code != 200:
            start = self.request("POST", f"/v2/{repo}/blobs/uploads/", repo)
            if start.status_code != 202:
                raise PushError(start, f"starting a blob upload to {repo}")
            location = start.headers["Location"]
            if location.startswith("/"):
                location = self.base_url + location
            sep = "&" if "?" in location else "?"
            put = self.request(
                "PUT",
                f"{location}{sep}digest={blob.digest}",
                repo,
                data=data,
                headers={"Content-Type": "application/octet-stream"},
            )
            if put.status_code != 201:
                raise PushError(put, f"uploading blob {blob.digest} to {repo}")
        self._known_blobs.add((repo, blob.digest))
        return blob.digest

    # -- manifests -------------------------------------------------------------------------

    def put_manifest_raw(self, repo: str, reference: str, body: bytes, media_type: str) -> requests.Response:
        """PUT any bytes as a manifest and return the response as is (for malformed cases)."""
        return self.request(
            "PUT", f"/v2/{repo}/manifests/{reference}", repo, data=body, headers={"Content-Type": media_type}
        )

    def put_manifest(self, repo: str, reference: str, body: bytes, media_type: str) -> str:
        """PUT a manifest; return the registry's Docker-Content-Digest."""
        response = self.put_manifest_raw(repo, reference, body, media_type)
        if response.status_code != 201:
            hint = ""
            if media_type == SCHEMA1_SIGNED:
                # 2.8.2 answers 500 UNKNOWN when compatibility.schema1.enabled is false.
                hint = " (does the registry accept schema 1 pushes? RegistryServer(schema1=True))"
            raise PushError(response, f"pushing manifest {repo}:{reference}{hint}")
        return response.headers.get("Docker-Content-Digest") or sha256_digest(body)

    def _single(
        self,
        repo: str,
        created: str | None,
        platform: str,
        *,
        oci: bool,
        labels: Mapping[str, str] | None,
        raw_config: bytes | None,
    ) -> bytes:
        layer, _ = shared_layer()
        layer_digest = self.push_blob(repo, layer.data)
        config = raw_config if raw_config is not None else image_config(created, platform, labels=labels)
        config_digest = self.push_blob(repo, config)
        manifest: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST if oci else DOCKER_MANIFEST,
            "config": {
                "mediaType": OCI_CONFIG if oci else DOCKER_CONFIG,
                "size": len(config),
                "digest": config_digest,
            },
            "layers": [
                {
                    "mediaType": OCI_LAYER if oci else DOCKER_LAYER,
                    "size": len(layer.data),
                    "digest": layer_digest,
                }
            ],
        }
        return canonical_json(manifest)

    def push_image(
        self,
        repo: str,
        tag: str,
        created: str | None,
        *,
        kind: str = "docker2",
        platforms: Sequence[str] = DEFAULT_PLATFORMS,
        platform_created: Mapping[str, str | None] | None = None,
        labels: Mapping[str, str] | None = None,
        raw_config: bytes | None = None,
    ) -> str:
        """Push one image under ``repo:tag``; return the digest that tag now points to.

        Single-platform kinds use ``platforms[0]``.  ``list``/``index`` get one child per
        platform, in the order given, each with its own config; ``platform_created`` overrides
        ``created`` per platform (the linux/amd64 child's date is the one that counts).
        """
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)} (found: {kind!r})")
        if not platforms:
            raise ValueError("platforms must name at least one os/arch")
        overrides = dict(platform_created or {})
        if kind == "schema1":
            if created is None:
                raise ValueError("a schema 1 image needs a created date")
            layer, _ = shared_layer()
            self.push_blob(repo, layer.data)
            manifest = schema1_manifest(
                repo, tag, created, layer_digest=layer.digest, platform=parse_platform(platforms[0])
            )
            body = sign_schema1(manifest)
            return self.put_manifest(repo, tag, body, SCHEMA1_SIGNED)
        if kind in ("docker2", "oci"):
            body = self._single(
                repo,
                overrides.get(platforms[0], created),
                platforms[0],
                oci=kind == "oci",
                labels=labels,
                raw_config=raw_config,
            )
            return self.put_manifest(repo, tag, body, _MEDIA_TYPE[kind])
        oci = kind == "index"
        children = []
        for platform in platforms:
            child = self._single(
                repo,
                overrides.get(platform, created),
                platform,
                oci=oci,
                labels=labels,
                raw_config=raw_config,
            )
            child_type = OCI_MANIFEST if oci else DOCKER_MANIFEST
            digest = self.put_manifest(repo, sha256_digest(child), child, child_type)
            children.append(
                {
                    "mediaType": child_type,
                    "size": len(child),
                    "digest": digest,
                    "platform": parse_platform(platform),
                }
            )
        top = {"schemaVersion": 2, "mediaType": _MEDIA_TYPE[kind], "manifests": children}
        return self.put_manifest(repo, tag, canonical_json(top), _MEDIA_TYPE[kind])


def push_image(
    base_url: str,
    repo: str,
    tag: str,
    created: str | None,
    *,
    kind: str = "docker2",
    platforms: Sequence[str] = DEFAULT_PLATFORMS,
    platform_created: Mapping[str, str | None] | None = None,
    labels: Mapping[str, str] | None = None,
    raw_config: bytes | None = None,
    auth: tuple[str, str] | None = None,
    verify: str | bool = True,
    session: requests.Session | None = None,
) -> str:
    """Push one image to ``base_url``; return the manifest digest under ``tag``.

    For many images, make one ImagePusher and call its push_image (it remembers blobs and tokens).
    """
    pusher = ImagePusher(base_url, auth=auth, verify=verify, session=session)
    return pusher.push_image(
        repo,
        tag,
        created,
        kind=kind,
        platforms=platforms,
        platform_created=platform_created,
        labels=labels,
        raw_config=raw_config,
    )


def push_raw_manifest(
    base_url: str,
    repo: str,
    reference: str,
    body: bytes,
    media_type: str = DOCKER_MANIFEST,
    *,
    auth: tuple[str, str] | None = None,
    verify: str | bool = True,
    session: requests.Session | None = None,
) -> requests.Response:
    """PUT arbitrary bytes as a manifest and return the registry's answer, whatever it is.

    Distribution 2.8.2 rejects unparseable manifests (400 MANIFEST_INVALID) and manifests whose
    blobs are missing (400 MANIFEST_BLOB_UNKNOWN), but never parses config blobs: push a
    broken config with ``push_image(..., raw_config=b"...")`` or ``created=None``, and serve a
    broken manifest through ``testbed.proxy.RegistryProxy(rewrite=...)``.
    """
    pusher = ImagePusher(base_url, auth=auth, verify=verify, session=session)
    return pusher.put_manifest_raw(repo, reference, body, media_type)

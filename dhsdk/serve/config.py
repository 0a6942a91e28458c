"""Settings of one ``dhsdk serve`` instance: where its data lives, its database, its limits.

Everything has a default a merchant can run with; the command line overrides them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

MiB = 1 << 20

# Upload kinds -> extensions accepted (the content is sniffed too, see dhsdk.serve.files).
MATERIAL_TYPES = (".mp4", ".mov", ".m4v", ".mkv", ".webm", ".jpg", ".jpeg", ".png", ".webp")
AUDIO_TYPES = (".wav", ".mp3", ".m4a", ".aac", ".ogg", ".opus", ".flac", ".webm")


@dataclass
class ServeConfig:
    """One server's settings.

    Attributes:
        data: the data directory (uploads, avatar bundles, renders, the SQLite database).
        db: SQLAlchemy-style database URL; ``sqlite:///<data>/serve.db`` when None.
            ``postgresql://user:pass@host:port/db`` uses PostgreSQL (psycopg 3).
        host, port: where the HTTP API listens.
        workers: jobs run at once in this process (each uses all cores; 1 suits a CPU box).
        ray: None (in-process workers), ``"auto"`` (join a running Ray cluster, else start a
            local one) or a Ray address.
        ray_workers: Ray worker actors to start (None: one per GPU, else one per
            ``ray_cpus_per_worker`` cores of the cluster).
        ray_cpus_per_worker: cores reserved by each Ray worker actor.
        max_material_mb, max_audio_mb: upload size limits.
        max_json_kb: limit of any other request body.
        rate_per_s, burst: per-token request rate limit (token bucket); 0 turns it off.
        token_cache_s: how long a token lookup is remembered (a revoked token stops working
            within this many seconds).
        max_attempts: times a job is started before an interruption fails it for good.
        heartbeat_s: how often a running job says it is alive; one silent for
            ``3 * heartbeat_s`` is taken as lost (its worker died) and retried.
        events_keep_s: events older than this are pruned.
        allow_private_urls: let ``audio_url`` fetch from loopback/private addresses (tests,
            an intranet media server); off by default so the API cannot be turned on the LAN.
        device: ``auto | cpu | cuda`` for the SDK's runners.
    """

    data: Path = field(default_factory=lambda: Path("dhsdk-data"))
    db: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    ray: str | None = None
    ray_workers: int | None = None
    ray_cpus_per_worker: float = 1.0
    max_material_mb: float = 512.0
    max_audio_mb: float = 64.0
    max_json_kb: float = 256.0
    rate_per_s: float = 20.0
    burst: int = 60
    token_cache_s: float = 2.0
    max_attempts: int = 3
    heartbeat_s: float = 2.0
    events_keep_s: float = 24 * 3600.0
    allow_private_urls: bool = False
    device: str = "auto"

    def __post_init__(self) -> None:
        self.data = Path(self.data).expanduser().resolve()

    @property
    def db_url(self) -> str:
        """The database URL in use."""
        return self.db or f"sqlite:///{self.data / 'serve.db'}"

    @property
    def max_upload_bytes(self) -> int:
        """The largest request body accepted anywhere (a material upload)."""
        return int(max(self.max_material_mb, self.max_audio_mb) * MiB) + MiB  # + multipart overhead

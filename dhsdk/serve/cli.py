"""``dhsdk serve``: run the HTTP API; ``dhsdk serve token create|list|revoke``: manage tokens."""
from __future__ import annotations

import argparse
import logging
import sys
import time

from dhsdk.errors import InputError


def _common(p: argparse.ArgumentParser, sub: bool = False) -> None:
    """--data and --db (on a token subcommand they may also come before 'token')."""
    keep = {"default": argparse.SUPPRESS} if sub else {}
    p.add_argument("--data", **(keep or {"default": "dhsdk-data"}),
                   help="data directory: uploads, avatars, renders, the SQLite database (default ./dhsdk-data)")
    p.add_argument("--db", **keep, help="database URL (default sqlite:///DATA/serve.db), e.g. "
                                        "postgresql://user:password@127.0.0.1:5432/dhsdk")


def add_arguments(p: argparse.ArgumentParser) -> None:
    _common(p)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1, help="jobs run at once in this process (default 1)")
    p.add_argument("--ray", metavar="auto|ADDRESS", help="run jobs and live sessions on Ray actors: 'auto' joins "
                                                        "a running cluster or starts a local one")
    p.add_argument("--ray-workers", type=int, help="Ray worker actors (default: one per GPU, else one per "
                                                   "--ray-cpus cores)")
    p.add_argument("--ray-cpus", type=float, default=1.0, help="cores each Ray worker reserves (default 1)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--max-upload-mb", type=float, default=512.0, help="largest material upload (default 512)")
    p.add_argument("--rate", type=float, default=20.0, help="requests per second per token, 0 = no limit")
    p.add_argument("--allow-private-urls", action="store_true",
                   help="let audio_url fetch from loopback/private addresses (an intranet media server)")
    sub = p.add_subparsers(dest="serve_command", metavar="token")
    tok = sub.add_parser("token", help="create, list and revoke bearer tokens")
    tsub = tok.add_subparsers(dest="token_command", metavar="create|list|revoke", required=True)
    c = tsub.add_parser("create", help="create a token for a tenant (created if new); printed once")
    c.add_argument("--tenant", required=True, help="the tenant's name, e.g. demo-boutique")
    c.add_argument("--label", default="", help="what the token is for")
    _common(c, sub=True)
    _common(tsub.add_parser("list", help="every token: id, tenant, label, last use"), sub=True)
    r = tsub.add_parser("revoke", help="revoke a token by its id (tok_...)")
    r.add_argument("token_id")
    _common(r, sub=True)


def config_from_args(args: argparse.Namespace) -> "object":
    """The :class:`~dhsdk.serve.config.ServeConfig` of the arguments."""
    from dhsdk.serve.config import ServeConfig

    return ServeConfig(data=args.data, db=args.db, host=getattr(args, "host", "127.0.0.1"),
                       port=getattr(args, "port", 8000), workers=getattr(args, "workers", 1),
                       ray=getattr(args, "ray", None), ray_workers=getattr(args, "ray_workers", None),
                       ray_cpus_per_worker=getattr(args, "ray_cpus", 1.0), device=getattr(args, "device", "auto"),
                       max_material_mb=getattr(args, "max_upload_mb", 512.0), rate_per_s=getattr(args, "rate", 20.0),
                       allow_private_urls=getattr(args, "allow_private_urls", False))


def _tokens(args: argparse.Namespace) -> int:
    from dhsdk.serve.auth import create_token
    from dhsdk.serve.db import Store

    config = config_from_args(args)
    config.data.mkdir(parents=True, exist_ok=True)
    store = Store(config.db_url)
    try:
        if args.token_command == "create":
            token, row = create_token(store, args.tenant, args.label)
            print(token)
            print(f"token {row['id']} for tenant {args.tenant!r}: shown once, keep it safe "
                  f"(use it as 'Authorization: Bearer <token>')", file=sys.stderr)
        elif args.token_command == "list":
            for t in store.tokens():
                used = time.strftime("%Y-%m-%d %H:%M", time.localtime(t["last_used_at"])) if t["last_used_at"] else "never"
                state = "revoked" if t["revoked_at"] else "active"
                print(f"{t['id']}  {t['tenant']:<24} {state:<8} last used {used}  {t['label'] or ''}")
        else:
            if not store.update("tokens", args.token_id, only_if={"revoked_at": None}, revoked_at=time.time()):
                raise InputError(f"no active token {args.token_id} (see: dhsdk serve token list)")
            print(f"revoked {args.token_id}", file=sys.stderr)
    finally:
        store.close()
    return 0


def run(args: argparse.Namespace) -> int:
    if args.serve_command == "token":
        return _tokens(args)
    from dhsdk.serve.server import serve

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    serve(config_from_args(args))
    return 0

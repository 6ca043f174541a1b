"""The ``serve`` subcommand: registered by the main command line, importing nothing heavy.

The server stack (Starlette, uvicorn) is imported only when ``serve`` runs, so
every other command works without the ``[server]`` extra.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["add_subparser"]


def add_subparser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``serve [--host H] [--port P] [--workers N] ...`` to the command line."""
    p = subparsers.add_parser("serve", help="HTTP API and a page at / (needs the [server] extra)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default loopback)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    p.add_argument(
        "--profile", action="append", metavar="FILE", help="load a payer profile file (repeatable)"
    )
    p.add_argument("--db", metavar="PATH", help="NCCI store made by `cptrules data import`")
    p.add_argument("--fees", metavar="PATH", help="fee store for /v1/estimate")
    p.add_argument("--max-body", type=int, default=16 * 1024 * 1024, metavar="BYTES")
    p.add_argument(
        "--timeout", type=float, default=30.0, metavar="SECONDS", help="most work per request"
    )
    p.add_argument(
        "--read-timeout", type=float, default=30.0, metavar="SECONDS", help="most wait for a body"
    )
    p.set_defaults(func=_cmd_serve)


def _cmd_serve(args: argparse.Namespace) -> int:
    try:
        from ..batch import EngineSettings
        from ._app import ServerSettings
        from ._run import serve
    except ImportError:
        print(
            "cptrules serve: needs the server extra: pip install 'cptrules[server]'",
            file=sys.stderr,
        )
        return 2
    if min(args.workers, args.max_body, args.timeout, args.read_timeout) <= 0:
        print(
            "cptrules serve: --workers, --max-body and the time limits must be positive",
            file=sys.stderr,
        )
        return 2
    settings = ServerSettings(
        engine=EngineSettings(profiles=args.profile or (), tables=args.db),
        fees=args.fees,
        max_body=args.max_body,
        timeout=args.timeout,
        read_timeout=args.read_timeout,
    )
    serve(settings, host=args.host, port=args.port, workers=args.workers)
    return 0

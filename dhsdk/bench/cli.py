"""``dhsdk bench``: stage micro-benchmarks and end-to-end runs with baselines, written as a
versioned JSON, a Markdown summary and PNG plots; ``dhsdk bench compare A.json B.json``
flags regressions beyond noise (exit code 1 when there is one).

Examples::

    dhsdk bench                       # every stage, warp/lite/full, streams 1,2,4,9 and on until a count fails
    dhsdk bench --quick               # shorter cases, every mouth
    dhsdk bench --mouth lite --streams 1,2,4 --size 1080x1920 --out results/
    dhsdk bench compare results/old.json results/new.json
"""
from __future__ import annotations

import argparse

from dhsdk.errors import InputError

# dhsdk.bench.run.MOUTHS (the default; not imported: keeps --help light), then those run on request
_MOUTHS = ("warp", "lite", "full", "lite-int8")


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must be WIDTHxHEIGHT, e.g. 720x1280, got {text!r}") from None
    if w < 64 or h < 64 or w % 2 or h % 2:
        raise argparse.ArgumentTypeError(f"size {text}: width and height must be even and >= 64")
    return w, h


def _counts(text: str) -> list[int]:
    try:
        counts = sorted({int(v) for v in text.split(",") if v.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"streams must be comma-separated counts, e.g. 1,2,4,9, got {text!r}") \
            from None
    if any(n < 1 for n in counts):
        raise argparse.ArgumentTypeError("stream counts must be >= 1")
    return counts


def _mouths(text: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(v.strip() for v in text.split(",") if v.strip()))
    bad = [n for n in names if n not in _MOUTHS]
    if bad or not names:
        raise argparse.ArgumentTypeError(f"mouth must be one or more of {','.join(_MOUTHS)}, got {text!r}")
    return names


def _processes(text: str) -> int | str:
    if text == "auto":
        return text
    try:
        k = int(text)
    except ValueError:
        k = 0
    if k < 1:
        raise argparse.ArgumentTypeError(f"processes must be 'auto' or a whole number >= 1, got {text!r}")
    return k


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = __doc__.split("Examples::", 1)[1]
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda", "auto"])
    parser.add_argument("--avatar", default=None, metavar="DIR", help="avatar directory (default: the bundled one)")
    parser.add_argument("--streams", type=_counts, default=None, metavar="N,N,...",
                        help="concurrent-stream counts to try first (default 1,2,4,9; --quick 1,2); the "
                             "sweep then goes on doubling until a count fails")
    parser.add_argument("--max-streams", type=int, default=256, metavar="N",
                        help="the most concurrent streams the sweep tries (default 256)")
    parser.add_argument("--processes", type=_processes, default=1, metavar="K|auto",
                        help="render worker processes in the stream sweep (default 1: the Scheduler's own)")
    parser.add_argument("--mouth", type=_mouths, default=_MOUTHS[:3], metavar="warp|lite|full|lite-int8",
                        help="mouth model(s), comma-separated (default: all three)")
    parser.add_argument("--size", type=_size, default=(720, 1280), metavar="WxH", help="output frame size")
    parser.add_argument("--duration", type=float, default=None, metavar="S",
                        help="seconds of speech per end-to-end case (default 10, --quick 3)")
    parser.add_argument("--out", default="results", metavar="DIR", help="output directory (default results/)")
    parser.add_argument("--quick", action="store_true", help="a shorter run (fewer rounds and sizes, 3 s cases)")
    parser.add_argument("--no-e2e", action="store_true", help="stage micro-benchmarks only")
    sub = parser.add_subparsers(dest="action", metavar="compare")
    cmp = sub.add_parser("compare", help="compare two result files; exit 1 on a regression beyond noise")
    cmp.add_argument("a", metavar="A.json")
    cmp.add_argument("b", metavar="B.json")
    cmp.add_argument("--tolerance", type=float, default=0.0, metavar="F",
                     help="treat relative changes below F (e.g. 0.2) as noise for every metric")


def run(args: argparse.Namespace) -> int:
    if getattr(args, "action", None) == "compare":
        return _compare(args.a, args.b, args.tolerance)
    from dhsdk.bench.report import summary_table
    from dhsdk.bench.run import Config, run as run_bench, write_outputs

    if args.duration is not None and args.duration < 1.0:
        raise InputError(f"--duration {args.duration}: give at least 1 second of speech per case")
    if args.max_streams < 1:
        raise InputError(f"--max-streams {args.max_streams}: give at least 1")
    streams = args.streams if args.streams is not None else ([1, 2] if args.quick else [1, 2, 4, 9])
    config = Config(device=args.device, avatar=args.avatar, streams=streams, mouths=args.mouth, size=args.size,
                    duration=args.duration, quick=args.quick, end_to_end=not args.no_e2e,
                    max_streams=args.max_streams, processes=args.processes)
    doc = run_bench(config)
    paths = write_outputs(doc, args.out)
    print(summary_table(doc))
    print()
    for kind, path in paths.items():
        print(f"{kind:12s} {path}")
    return 0


def _compare(a: str, b: str, tolerance: float) -> int:
    from dhsdk.bench.compare import compare, machine_differences, machine_drift, render
    from dhsdk.bench.schema import load

    doc_a, doc_b = load(a), load(b)
    changes, only_a, only_b = compare(doc_a, doc_b, tolerance)
    drift = machine_drift(doc_a["metrics"], doc_b["metrics"])
    print(render(changes, only_a, only_b, machine_differences(doc_a, doc_b), drift))
    return 1 if any(c.verdict == "regression" for c in changes) else 0

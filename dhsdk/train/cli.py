"""``dhsdk train <model>``: one subcommand per trainable model; each module exposes
``add_arguments(parser)`` and ``run(args) -> int`` (heavy imports inside ``run``)."""
from __future__ import annotations

import argparse
import importlib

SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "a2k": ("dhsdk.train.a2k", "train the audio-to-lip-keypoints model on generated espeak speech"),
    "a2k-adapt": ("dhsdk.train.a2k_adapt", "fine-tune a2k on a person's own talking video (lips measured by the "
                                           "avatar face tracker)"),
    "mouth": ("dhsdk.train.mouth_cli", "train the per-person mouth inpainting UNet on an avatar's frames"),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``train`` subcommands."""
    sub = parser.add_subparsers(dest="model", metavar="MODEL", required=True)
    for name, (module, help_text) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        mod = importlib.import_module(module)
        mod.add_arguments(p)
        p.set_defaults(_train_run=mod.run)


def run(args: argparse.Namespace) -> int:
    """Run the chosen trainer."""
    return args._train_run(args)

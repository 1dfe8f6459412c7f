"""`conveyor base`: make (once) and name the local base image."""

from __future__ import annotations

import argparse

from conveyor.commands._common import add_json_option, add_repo_option, print_json, repo_root
from conveyor.images import base as base_image


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "base", help="make the base image from build/base/recipe.toml (once per recipe)",
        description="Make the Python base image with debootstrap and docker import, tagged by "
        "the recipe's hash; nothing is pulled from a registry. Prints the tag.")
    add_repo_option(parser)
    add_json_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    tag = base_image.ensure(base_image.default_recipe_dir(repo_root(args)))
    if args.json:
        print_json({"image": tag})
    else:
        print(tag)
    return 0

"""`pixseek export`: the command line of search.build_subset and search.export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from search import FORMATS, METHODS, BadRecipe, DedupSettings, Recipe, build_subset, export

from .options import (
    AfterOption,
    BeforeOption,
    CameraOption,
    FormatsOption,
    JsonFlag,
    LibraryOption,
    MaxHeightOption,
    MaxWidthOption,
    MinHeightOption,
    MinWidthOption,
    StrictnessOption,
    UnderOption,
    filters_from,
)
from .report import reported


def _recipe_from(file: Path) -> Recipe:
    try:
        return Recipe.from_json(file.read_text())
    except OSError as exc:
        raise BadRecipe(f"{file}: cannot read ({exc.strerror or exc})") from None


def export_command(
    to: Annotated[Path, typer.Option("--to", help="The folder to write into (new or empty).")],
    query: Annotated[list[str] | None, typer.Option("--query", "-q", help="A search query (repeatable).")] = None,
    relevant: Annotated[bool, typer.Option(help="Only the hits that stand out for each query.")] = False,
    strictness: StrictnessOption = 0.5,
    limit: Annotated[int, typer.Option(min=1, help="At most this many hits per query.")] = 1000,
    dedup: Annotated[bool, typer.Option("--dedup", help="Keep one image of each duplicate group.")] = False,
    diverse: Annotated[int | None, typer.Option(min=1, help="Keep this many, spread over the subset.")] = None,
    diversity: Annotated[str, typer.Option(help=f"How --diverse spreads: {', '.join(METHODS)}.")] = "kmeans",
    seed: Annotated[int, typer.Option(help="Seed of the diversity sampling.")] = 0,
    as_: Annotated[str | None, typer.Option("--as", help=f"{', '.join(FORMATS)} (default: copy).")] = None,
    recipe: Annotated[
        Path | None,
        typer.Option(help="Regenerate the subset of this recipe.json (its selection replaces the options)."),
    ] = None,
    under: UnderOption = None,
    after: AfterOption = None,
    before: BeforeOption = None,
    camera: CameraOption = None,
    min_width: MinWidthOption = None,
    min_height: MinHeightOption = None,
    max_width: MaxWidthOption = None,
    max_height: MaxHeightOption = None,
    formats: FormatsOption = None,
    library: LibraryOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Export a subset (queries, filters, dedup, diversity) as files, manifests or WebDataset shards, plus a recipe."""
    with reported():
        if recipe is not None:
            chosen = _recipe_from(recipe)
        else:
            chosen = Recipe(
                queries=tuple(query or ()),
                relevant=relevant,
                strictness=strictness,
                limit=limit,
                filters=filters_from(
                    under, after, before, camera, min_width, min_height, max_width, max_height, formats
                ),
                dedup=DedupSettings() if dedup else None,
                diverse=diverse,
                diversity=diversity,
                seed=seed,
                export_as=as_ or "copy",
            )
        subset = build_subset(library, chosen)
        written = export(subset, to, as_ or subset.recipe.export_as)
    if as_json:
        typer.echo(json.dumps({"items": len(subset.items), "written": str(written), "recipe": str(to / "recipe.json")}))
    else:
        typer.echo(f"exported {len(subset.items)} images to {written}; recipe: {to / 'recipe.json'}")

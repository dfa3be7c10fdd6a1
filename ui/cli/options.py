"""Options shared by several commands: the library, the model, JSON output, and the filters that select images."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from search import Filters

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


LibraryOption = Annotated[
    Path | None,
    typer.Option("--library", "-l", envvar="PIXSEEK_LIBRARY", help="Library folder (default: user data dir)."),
]


ModelOption = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-m",
        envvar="PIXSEEK_MODEL",
        help="Model name or directory, for a new library \\[default: tiny-shapes]; a library keeps its own.",
    ),
]


DATE = ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m", "%Y"]  # a year or a month: its first day


# The filter options, shared by every command that selects images (search, export).
UnderOption = Annotated[Path | None, typer.Option(help="Only files below this folder.")]


AfterOption = Annotated[datetime | None, typer.Option(formats=DATE, help="Taken on or after (EXIF).")]


BeforeOption = Annotated[datetime | None, typer.Option(formats=DATE, help="Taken before (EXIF).")]


CameraOption = Annotated[str | None, typer.Option(help="Camera make or model contains this.")]


MinWidthOption = Annotated[int | None, typer.Option(help="At least this many pixels wide.")]


MinHeightOption = Annotated[int | None, typer.Option(help="At least this many pixels high.")]


MaxWidthOption = Annotated[int | None, typer.Option(help="At most this many pixels wide.")]


MaxHeightOption = Annotated[int | None, typer.Option(help="At most this many pixels high.")]


StrictnessOption = Annotated[float, typer.Option(min=0.0, max=1.0, help="With --relevant: 0 loose .. 1 strict.")]


FormatsOption = Annotated[list[str] | None, typer.Option("--format", help="JPEG, PNG, HEIF, ... (repeatable).")]


def filters_from(under, after, before, camera, min_width, min_height, max_width, max_height, formats) -> Filters:
    return Filters(
        under=str(under) if under else None,
        after=after,
        before=before,
        camera=camera,
        min_width=min_width,
        min_height=min_height,
        max_width=max_width,
        max_height=max_height,
        formats=tuple(formats or ()),
    )


PortOption = Annotated[int, typer.Option(min=1, max=65535, help="The port to serve on.")]


HostOption = Annotated[str, typer.Option(help="The address to bind (127.0.0.1: this machine only).")]


# The model's runtime, device and precision: checked when the command line is read, before any model loads.
def choice(values):
    """An option callback that accepts only these values (named in the message when another is given)."""

    def check(value: str) -> str:
        if value not in values:
            raise typer.BadParameter(f"{value!r} is not one of {', '.join(values)}")
        return value

    return check


RuntimeOption = Annotated[
    str, typer.Option(callback=choice(("auto", "numpy", "paddle", "torch")), help="auto, numpy, paddle or torch.")
]


def _device(value: str) -> str:
    if re.fullmatch(r"auto|cpu|cuda(:\d+)?", value) is None:
        raise typer.BadParameter(f"{value!r} is not a device: use auto, cpu, cuda or cuda:N")
    return value


DeviceOption = Annotated[str, typer.Option(callback=_device, help="auto, cpu, cuda or cuda:N.")]


DtypeOption = Annotated[
    str,
    typer.Option(
        callback=choice(("auto", "float32", "bfloat16", "float16", "fp8")),
        help="The weights' precision (auto: the library's, or the fastest here for a new library). fp8: the "
        "vision tower's matmuls in FP8 on Hopper-class GPUs (torch runtime), kept only if its vectors stay within "
        "cosine 0.998 of bfloat16's on 256 photos.",
    ),
]

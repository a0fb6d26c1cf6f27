"""Names of the files a run writes, and the checks made on them before any work."""

from __future__ import annotations

import os

from ..exceptions import InputError, InputFileError
from ..io.fits_input import Chip, Exposure
from ..io.inputs import InputItem, output_filename, rootname
from ..io.output_checks import check_output_files
from .result import AstrodrizzleResult


def exposure_root(name: str, exp: Exposure, k: int) -> str:
    """Root of the files written for exposure ``k`` (``<root>_crclean.fits`` ...)."""
    if exp.root:  # one exposure of a multi-exposure file (STIS imsets: io/stis.py)
        return exp.root
    if not name.startswith("<in-memory"):
        return rootname(name)
    root = str(exp.primary_header.get("ROOTNAME", "") or "").strip().lower()
    return root or f"input{k}"


def output_name(sources, all_files: bool, input, output: str | None,
                exposures: list[Exposure], names: list[str]) -> str:
    """The product's file name, as drizzlepac makes it (``_drz``, ``_drc``, ``_drw``)."""
    if all_files:
        return output_filename(input, output or None, sources)
    first = names[0]
    flc = first.lower().endswith(("_flc.fits", "_flc.fits.gz")) or str(
        exposures[0].primary_header.get("FILENAME", "")).lower().endswith("_flc.fits")
    suffix = "_drc" if flc else ("_drw" if exposures[0].instrument == "WFPC2" else "_drz")
    if not output:
        root = exposure_root(first, exposures[0], 0) if len(exposures) == 1 else "final"
        return root + suffix + ".fits"
    low = output.lower()
    if ".fits" in low or suffix[:4] in low:
        return output
    return output + suffix + ".fits"


def _planned_files(res: AstrodrizzleResult) -> list[str]:
    from ..io.fits_output import product_filenames

    p = res.params
    out = list(dict.fromkeys(product_filenames(res.output, bool(p["build"])).values()))
    if p["driz_cr"] and len(res.exposures) > 1:
        for key, e, chip in res.chips():
            if not p["in_memory"]:
                out.append(crmask_name(res, e, chip))
        if p["driz_cr_corr"]:
            out.extend(crclean_name(res, e) for e in range(len(res.exposures)))
    return out


def _out_dir(res: AstrodrizzleResult) -> str:
    return os.path.dirname(res.output) or "."


def crmask_name(res: AstrodrizzleResult, e: int, chip: Chip) -> str:
    root = exposure_root(res.names[e], res.exposures[e], e)
    return os.path.join(_out_dir(res), f"{root}_sci{chip.extver}_crmask.fits")


def crclean_name(res: AstrodrizzleResult, e: int) -> str:
    root = exposure_root(res.names[e], res.exposures[e], e)
    return os.path.join(_out_dir(res), f"{root}_crclean.fits")


def check_distinct_inputs(sources) -> None:
    """The same file given twice (by name, symbolic or hard link) is an error."""
    from ..io.inplace import check_distinct

    check_distinct([s.filename for s in sources if isinstance(s, InputItem)], "input")


def check_output_paths(res: AstrodrizzleResult) -> None:
    """Fail early (before any work) if a product would overwrite an input or
    cannot be written."""
    outdir = _out_dir(res)
    if not os.path.isdir(outdir):
        raise InputFileError(f"{outdir}: output directory does not exist")
    if not os.access(outdir, os.W_OK):
        raise InputFileError(f"{outdir}: output directory is not writable")
    inputs = [n for n in res.names if not n.startswith("<in-memory")]
    inputs += [i for i in res.ivm_files if i]
    planned = _planned_files(res)
    check_output_files(planned)  # directories, name lengths, permissions
    if len(set(planned)) != len(planned):
        raise InputError("output: two products would get the same file name "
                         f"({sorted(planned)})")
    for path in planned:
        for inp in inputs:
            same = os.path.abspath(path) == os.path.abspath(inp) or (
                os.path.exists(path) and os.path.exists(inp) and os.path.samefile(path, inp))
            if same:
                raise InputError(f"output: product {path} would overwrite the input "
                                 f"file {inp}; choose another output name")

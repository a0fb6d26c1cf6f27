"""Parameters of ``astrodrizzle`` (spec §1), one :class:`Param` each.

Names and defaults are drizzlepac's (``pars/astrodrizzle.cfg``), values are
typed (``driz_cr_snr`` is ``(3.5, 3.0)``, ``final_bits`` an int or bit
string, ``final_fillval`` ``None`` or a float). Sections are named after the
steps. A few drizzlekit-only switches follow each step's own parameters:
the ``*_compat`` flags reproduce quirks of the reference implementation
(spec §11) and default to the corrected behaviour, which measures better on
data with known truth; ``driz_cr_noise_model`` defaults to drizzlepac's model,
which does (README, "Cosmic-ray defaults measured";
``benchmarks/bench_cr_truth.py``).
"""

from __future__ import annotations

from . import Param, ParamSpec, register_spec

__all__ = ["ASTRODRIZZLE_SPEC", "KERNELS", "BLOT_INTERPOLANTS"]

#: Drizzle kernels drizzlekit offers in both drizzle steps.
KERNELS = ("square", "point", "turbo", "gaussian", "tophat", "lanczos2", "lanczos3")
#: Blot interpolants.
BLOT_INTERPOLANTS = ("nearest", "linear", "poly3", "poly5", "sinc")


def _p(section: str, name: str, default, kind: str, help: str, **kw) -> Param:
    return Param(name=name, default=default, kind=kind, help=help, section=section, **kw)


def _custom_wcs(section: str, prefix: str, what: str) -> list[Param]:
    s = section
    return [
        _p(s, f"{prefix}_wcs", False, "bool", f"Define a custom WCS for the {what}"),
        _p(s, f"{prefix}_refimage", "", "path",
           "Reference image whose WCS defines the output frame"),
        _p(s, f"{prefix}_rot", None, "float", "Position angle of the output +y axis, E of N",
           units="deg", nullable=True, vmin=-360.0, vmax=360.0),
        _p(s, f"{prefix}_scale", None, "float", "Output pixel size", units="arcsec/pixel",
           nullable=True, vmin=0.0, min_exclusive=True),
        _p(s, f"{prefix}_outnx", None, "int", "Output frame size along x", units="pixels",
           nullable=True, vmin=1),
        _p(s, f"{prefix}_outny", None, "int", "Output frame size along y", units="pixels",
           nullable=True, vmin=1),
        _p(s, f"{prefix}_ra", None, "float", "Right ascension of the reference pixel (CRVAL1)",
           units="deg", nullable=True, vmin=0.0, vmax=360.0),
        _p(s, f"{prefix}_dec", None, "float", "Declination of the reference pixel (CRVAL2)",
           units="deg", nullable=True, vmin=-90.0, vmax=90.0),
        _p(s, f"{prefix}_crpix1", None, "float", "Reference pixel x (CRPIX1, 1-based)",
           units="pixels", nullable=True),
        _p(s, f"{prefix}_crpix2", None, "float", "Reference pixel y (CRPIX2, 1-based)",
           units="pixels", nullable=True),
    ]


_GLOBAL = [
    _p("global", "input", "*flt.fits", "str",
       "Input files: name, wildcard, comma list, @file or association table"),
    _p("global", "output", "", "str", "Root name of the output products"),
    _p("global", "runfile", "astrodrizzle.log", "path", "Log file of the run"),
    _p("global", "wcskey", "", "str", "Alternate WCS key (A-Z) or WCSNAME to use"),
    _p("global", "proc_unit", "native", "choice", "Units of the final product for count data",
       choices=("native", "electrons")),
    _p("global", "coeffs", True, "bool", "Apply the distortion model of the input WCS"),
    _p("global", "context", True, "bool", "Build the context (CTX) image in the final drizzle"),
    _p("global", "group", "", "str", "Process only these chips, e.g. '1' or 'sci,1'"),
    _p("global", "build", True, "bool", "Final product as one multi-extension file "
       "<output>_drz.fits (SCI, WHT, CTX); off: three files _drz_sci/_wht/_ctx.fits "
       "(drizzlepac's cfg default is off; drizzlekit writes the single file by default)"),
    _p("global", "crbit", 4096, "int", "DQ bit value that marks cosmic rays",
       vmin=0, vmax=65535),
    _p("global", "stepsize", 10, "int",
       "Grid spacing for exact WCS evaluation (0 = every pixel)", units="pixels", vmin=0),
    _p("global", "resetbits", "4096", "bits", "DQ bits cleared before processing"),
    _p("global", "num_cores", None, "int", "Parallel workers (None = automatic)",
       nullable=True, vmin=1),
    _p("global", "in_memory", False, "bool", "Keep inputs and intermediate products in "
       "memory (off: chips read from their files by each step, single drizzles, median, "
       "pixel maps, blots and CR masks in files of a temporary directory removed when the "
       "run ends, CR masks written as files)"),
    _p("global", "memory_limit", None, "float",
       "Memory the run may use: output frames needing more than half of it are refused "
       "before any work, the median's row bands get a quarter, the pixel-map cache up to a "
       "quarter (None = auto: frames checked against the memory available now, buffers "
       "256 + 512 MiB)", units="GiB", nullable=True,
       vmin=0.0, min_exclusive=True),
    _p("global", "rules_file", "", "path", "Header-blending rules file"),
    _p("global", "mdriztab", False, "bool", "Take defaults from the MDRIZTAB reference table"),
    _p("global", "updatewcs", False, "bool", "Recompute the input WCS from reference files"),
    _p("global", "stats_compat", False, "bool",
       "Place the histogram mode as stsci.imagestats does (static mask, sky)"),
]

_INPUT_STATE = [
    _p("input_files", "restore", False, "bool", "Copy inputs back from the archive directory"),
    _p("input_files", "preserve", True, "bool", "Archive a copy of the inputs first"),
    _p("input_files", "overwrite", False, "bool", "Overwrite archived copies"),
    _p("input_files", "clean", False, "bool", "Delete intermediate files at the end"),
]

_STATIC = [
    _p("static_mask", "static", True, "bool", "Build the static bad-pixel mask"),
    _p("static_mask", "static_sig", 4.0, "float", "Clip level below the mode",
       units="sigma", vmin=0.0, min_exclusive=True),
]

_SKY = [
    _p("sky", "skysub", True, "bool", "Compute the sky (subtracted on the fly)"),
    _p("sky", "skymethod", "localmin", "choice", "Sky computation method",
       choices=("localmin", "globalmin", "match", "globalmin+match")),
    _p("sky", "skystat", "median", "choice", "Sky statistic",
       choices=("median", "mode", "mean")),
    _p("sky", "skywidth", 0.1, "float", "Histogram bin width for the mode", units="sigma",
       vmin=0.0, min_exclusive=True),
    _p("sky", "skylower", None, "float", "Lowest usable data value",
       units="input data units", nullable=True),
    _p("sky", "skyupper", None, "float", "Highest usable data value",
       units="input data units", nullable=True),
    _p("sky", "skyclip", 5, "int", "Clipping iterations", vmin=0),
    _p("sky", "skylsigma", 4.0, "float", "Lower clipping limit", units="sigma",
       vmin=0.0, min_exclusive=True),
    _p("sky", "skyusigma", 4.0, "float", "Upper clipping limit", units="sigma",
       vmin=0.0, min_exclusive=True),
    _p("sky", "skymask_cat", "", "path", "File listing user masks per image"),
    _p("sky", "use_static", True, "bool", "Exclude static-mask pixels from the sky"),
    _p("sky", "sky_bits", "0", "bits", "DQ flags treated as good for the sky"),
    _p("sky", "skyfile", "", "path", "File of user sky values"),
    _p("sky", "skyuser", "", "str", "Header keyword holding a sky the user already removed"),
    _p("sky", "sky_overlap_step", 4, "int",
       "Sampling step of the overlap maps for skymethod 'match'", units="pixels", vmin=1),
]

_SEPARATE = [
    _p("driz_separate", "driz_separate", True, "bool", "Drizzle each exposure separately"),
    _p("driz_separate", "driz_sep_kernel", "turbo", "choice", "Drizzle kernel",
       choices=KERNELS),
    _p("driz_separate", "driz_sep_wt_scl", "exptime", "str",
       "Weight scaling: 'exptime', 'expsq' or a number"),
    _p("driz_separate", "driz_sep_pixfrac", 1.0, "float", "Drop size, fraction of an input pixel",
       vmin=0.0, vmax=1.0, min_exclusive=True),
    _p("driz_separate", "driz_sep_fillval", None, "float",
       "Value of output pixels without weight (None = leave 0)", nullable=True),
    _p("driz_separate", "driz_sep_bits", "0", "bits", "DQ flags treated as good"),
    _p("driz_separate", "driz_sep_compress", False, "bool", "Tile-compress the single products"),
]

_MEDIAN = [
    _p("median", "median", True, "bool", "Build the median image"),
    _p("median", "median_newmasks", True, "bool", "Mask pixels of low single-drizzle weight"),
    _p("median", "combine_maskpt", 0.3, "float", "Weight below this fraction of the mean is bad",
       vmin=0.0, vmax=1.0),
    _p("median", "combine_type", "minmed", "choice", "Combination method",
       choices=("minmed", "iminmed", "median", "mean", "imedian", "imean", "sum")),
    _p("median", "combine_nsigma", "4 3", "pair",
       "Significances (n1 n2) for minmed to take the minimum", units="sigma",
       vmin=0.0, min_exclusive=True),
    _p("median", "combine_nlow", 0, "int", "Lowest values rejected per pixel", vmin=0),
    _p("median", "combine_nhigh", 0, "int", "Highest values rejected per pixel", vmin=0),
    _p("median", "combine_lthresh", None, "float", "Values below this are rejected",
       units="e-/s", nullable=True),
    _p("median", "combine_hthresh", None, "float", "Values at or above this are rejected",
       units="e-/s", nullable=True),
    _p("median", "combine_grow", 1, "int", "Half-size of the minmed relaxed-threshold box",
       units="pixels", vmin=0),
    _p("median", "combine_bufsize", None, "float", "Memory per image section (no effect on "
       "the result)", units="MB", nullable=True, vmin=0.0, min_exclusive=True),
    _p("median", "combine_compat", False, "bool",
       "Reproduce stsci.image combiner quirks (imedian fill only in column 0)"),
]

_BLOT = [
    _p("blot", "blot", True, "bool", "Blot the median back to every chip"),
    _p("blot", "blot_interp", "poly5", "choice", "Interpolant", choices=BLOT_INTERPOLANTS),
    _p("blot", "blot_sinscl", 1.0, "float", "Sinc offset scale", vmin=0.0, min_exclusive=True),
    _p("blot", "blot_addsky", True, "bool", "Add the computed sky back to the blot"),
    _p("blot", "blot_skyval", 0.0, "float", "Sky added when blot_addsky is off",
       units="input data units"),
]

_DRIZ_CR = [
    _p("driz_cr", "driz_cr", True, "bool", "Identify cosmic rays"),
    _p("driz_cr", "driz_cr_corr", False, "bool", "Produce the CR-cleaned image"),
    _p("driz_cr", "driz_cr_snr", "3.5 3.0", "pair", "Noise thresholds (snr1 snr2)",
       units="sigma", vmin=0.0, min_exclusive=True),
    _p("driz_cr", "driz_cr_scale", "1.2 0.7", "pair",
       "Derivative multipliers (scale1 scale2)", vmin=0.0),
    _p("driz_cr", "driz_cr_grow", 1, "int", "Width of the box that grows each CR",
       units="pixels", vmin=1),
    _p("driz_cr", "driz_cr_ctegrow", 0, "int", "Length of the CTE tail flagged",
       units="pixels", vmin=0),
    _p("driz_cr", "driz_cr_single", "off", "choice",
       "Cosmic rays of a run with one exposure (no median): 'off' (as drizzlepac) or "
       "'lacosmic' (L.A.Cosmic through the optional astroscrappy package)",
       choices=("off", "lacosmic")),
    _p("driz_cr", "driz_cr_noise_model", "drizzlepac", "choice",
       "Noise model: 'drizzlepac' (its results) or 'corrected' (sky and "
       "gain counted once; with driz_cr_snr at its default it uses its own thresholds "
       "4.5 3.5, measured in the README)", choices=("drizzlepac", "corrected")),
]

_FINAL = [
    _p("final_drizzle", "driz_combine", True, "bool", "Drizzle all chips into the final image"),
    _p("final_drizzle", "final_wht_type", "EXP", "choice", "Input weighting",
       choices=("EXP", "ERR", "IVM")),
    _p("final_drizzle", "final_kernel", "square", "choice", "Drizzle kernel", choices=KERNELS),
    _p("final_drizzle", "final_wt_scl", "exptime", "str",
       "Weight scaling: 'exptime', 'expsq' or a number"),
    _p("final_drizzle", "final_pixfrac", 1.0, "float", "Drop size, fraction of an input pixel",
       vmin=0.0, vmax=1.0, min_exclusive=True),
    _p("final_drizzle", "final_fillval", None, "float",
       "Value of output pixels without weight (None = no fill)", nullable=True),
    _p("final_drizzle", "final_maskval", None, "float",
       "Initial value of the output image (None = NaN)", nullable=True),
    _p("final_drizzle", "final_bits", "0", "bits", "DQ flags treated as good"),
    _p("final_drizzle", "final_units", "cps", "choice", "Units of the final image",
       choices=("cps", "counts")),
    _p("final_drizzle", "final_err", False, "bool",
       "Add an ERR extension: the inputs' ERR arrays drizzled with squared weights "
       "(1-sigma, same units as SCI; per-pixel, not counting the correlation between "
       "output pixels)"),
]

_INSTRUMENT = [
    _p("instrument", "gain", None, "float", "Detector gain (None = from the header)",
       units="e-/DN", nullable=True, vmin=0.0, min_exclusive=True),
    _p("instrument", "gnkeyword", "", "str", "Header keyword(s) holding the gain"),
    _p("instrument", "rdnoise", None, "float", "Read noise (None = from the header)",
       units="e-", nullable=True, vmin=0.0),
    _p("instrument", "rnkeyword", "", "str", "Header keyword(s) holding the read noise"),
    _p("instrument", "exptime", None, "float", "Exposure time (None = from the header)",
       units="s", nullable=True, vmin=0.0, min_exclusive=True),
    _p("instrument", "expkeyword", "", "str", "Header keyword holding the exposure time"),
]

ASTRODRIZZLE_SPEC = register_spec(ParamSpec(
    "astrodrizzle",
    _GLOBAL + _INPUT_STATE + _STATIC + _SKY + _SEPARATE
    + _custom_wcs("driz_separate_wcs", "driz_sep", "single-drizzle products")
    + _MEDIAN + _BLOT + _DRIZ_CR + _FINAL
    + _custom_wcs("final_drizzle_wcs", "final", "final product")
    + _INSTRUMENT,
    doc="Combine dithered exposures: static mask, sky, single drizzle, median, "
        "blot, cosmic-ray flags and the final drizzle (drizzlepac AstroDrizzle).",
))

"""Parameters of the ``tweakreg`` task (image alignment).

Names and defaults follow drizzlepac's TweakReg (``tweakreg.cfg``) and its
``imagefindpars`` source-finding set, so users can carry their settings over;
the help text is drizzlekit's own. Two parameters in the ``engine`` section
are drizzlekit additions that control the safety checks of the alignment
engine (:func:`drizzlekit.align.align_wcs`).

Units: ``tolerance``, ``separation``, ``xoffset`` and ``yoffset`` are in
pixels of the image being aligned; ``searchrad`` is in ``searchunits``.
"""

from __future__ import annotations

from . import Param, ParamSpec, register_spec

__all__ = ["TWEAKREG_SPEC"]

_GEOMETRIES = ("shift", "rshift", "rscale", "general")

_P = Param

_PARAMS = [
    # -- inputs -------------------------------------------------------------
    _P("input", "", "str", "Images to align: file name, wildcard, comma list, @file or ASN table",
       section="input"),
    _P("refimage", "", "path", "Reference image whose catalog and WCS define the reference frame "
       "(empty: use a reference catalog or pick an input image)", section="input"),
    _P("expand_refcat", False, "bool", "Add the unmatched sources of each aligned image to the "
       "reference catalog before aligning the next image (each stage written as "
       "cumulative_sky_refcat_<image>.coo)", section="input"),
    _P("enforce_user_order", True, "bool", "Align in the order given (first image is the "
       "reference); if off, start from the image with the largest overlap", section="input"),
    _P("exclusions", "", "path", "File listing, per image and chip, DS9 region files or FITS masks "
       "of areas whose sources are ignored", section="input"),
    _P("writecat", True, "bool", "Write the source catalogs built for each chip", section="input"),
    _P("clean", False, "bool", "Delete the intermediate catalog files when done", section="input"),
    _P("interactive", True, "bool", "Show plots and ask before updating headers", section="input"),
    _P("verbose", False, "bool", "Log extra diagnostic messages", section="input"),
    _P("runfile", "tweakreg.log", "path", "Log file of the run", section="input"),

    # -- header update ------------------------------------------------------
    _P("updatehdr", False, "bool", "Write the aligned WCS into the image headers",
       section="update_header"),
    _P("wcsname", "TWEAK", "str", "Name (WCSNAME) given to the aligned WCS",
       section="update_header"),
    _P("reusename", False, "bool", "Allow reusing a WCSNAME that already exists in the header",
       section="update_header"),

    # -- headerlets ---------------------------------------------------------
    _P("headerlet", False, "bool", "Also write the aligned WCS as a headerlet",
       section="headerlet"),
    _P("attach", True, "bool", "Attach the new headerlet to the image file", section="headerlet"),
    _P("hdrfile", "", "path", "File name of the headerlet", section="headerlet"),
    _P("clobber", False, "bool", "Overwrite an existing headerlet file", section="headerlet"),
    _P("hdrname", "", "str", "HDRNAME keyword of the headerlet", section="headerlet"),
    _P("author", "", "str", "Author recorded in the headerlet", section="headerlet"),
    _P("descrip", "", "str", "Short description recorded in the headerlet", section="headerlet"),
    _P("catalog", "", "str", "Name of the astrometric catalog recorded in the headerlet",
       section="headerlet"),
    _P("history", "", "str", "Text file whose contents go into the headerlet history",
       section="headerlet"),

    # -- shift file ---------------------------------------------------------
    _P("shiftfile", False, "bool", "Write the fitted shifts to a text file usable by AstroDrizzle",
       section="shiftfile"),
    _P("outshifts", "shifts.txt", "path", "Name of the shift file", section="shiftfile"),
    _P("outwcs", "shifts_wcs.fits", "path", "Name of the header-only FITS file with the reference "
       "WCS of the shift file", section="shiftfile"),

    # -- user catalogs ------------------------------------------------------
    _P("catfile", "", "path", "Text file naming, per image, its source catalog(s), one per chip "
       "(empty: find sources in the images)", section="catalogs"),
    _P("xcol", 1, "int", "Column number (1-based) of the x position in the user catalogs",
       section="catalogs", vmin=1),
    _P("ycol", 2, "int", "Column number (1-based) of the y position in the user catalogs",
       section="catalogs", vmin=1),
    _P("fluxcol", None, "int", "Column number (1-based) of the flux in the user catalogs",
       section="catalogs", vmin=1, nullable=True),
    _P("maxflux", None, "float", "Ignore catalog sources brighter than this flux",
       section="catalogs", nullable=True, units="fluxunits"),
    _P("minflux", None, "float", "Ignore catalog sources fainter than this flux",
       section="catalogs", nullable=True, units="fluxunits"),
    _P("fluxunits", "counts", "choice", "Units of the catalog flux column", section="catalogs",
       choices=("counts", "cps", "mag")),
    _P("xyunits", "pixels", "choice", "Units of the catalog positions", section="catalogs",
       choices=("pixels", "degrees")),
    _P("nbright", None, "int", "Keep only this many brightest sources per catalog "
       "(None: keep all)", section="catalogs", vmin=1, nullable=True),

    # -- reference catalog --------------------------------------------------
    _P("refcat", "", "path", "External reference catalog file (e.g. Gaia) to align to",
       section="refcatalog"),
    _P("refxcol", 1, "int", "Column number (1-based) of RA (or x) in the reference catalog",
       section="refcatalog", vmin=1),
    _P("refycol", 2, "int", "Column number (1-based) of Dec (or y) in the reference catalog",
       section="refcatalog", vmin=1),
    _P("refxyunits", "degrees", "choice", "Units of the reference catalog positions",
       section="refcatalog", choices=("degrees", "pixels")),
    _P("rfluxcol", None, "int", "Column number (1-based) of the flux in the reference catalog",
       section="refcatalog", vmin=1, nullable=True),
    _P("rmaxflux", None, "float", "Ignore reference sources brighter than this flux",
       section="refcatalog", nullable=True, units="rfluxunits"),
    _P("rminflux", None, "float", "Ignore reference sources fainter than this flux",
       section="refcatalog", nullable=True, units="rfluxunits"),
    _P("rfluxunits", "mag", "choice", "Units of the reference catalog flux column",
       section="refcatalog", choices=("counts", "cps", "mag")),
    _P("refnbright", None, "int", "Keep only this many brightest reference sources "
       "(None: keep all)", section="refcatalog", vmin=1, nullable=True),

    # -- matching -----------------------------------------------------------
    _P("minobj", 15, "int", "Minimum number of matched sources the fit must keep; fewer "
       "makes the alignment FAILED", section="matching", vmin=1),
    _P("searchrad", 1.0, "float", "Largest image-to-reference offset searched by the 2-D "
       "histogram", section="matching", vmin=0.0, min_exclusive=True, units="searchunits"),
    _P("searchunits", "arcseconds", "choice", "Units of searchrad", section="matching",
       choices=("arcseconds", "pixels")),
    _P("use2dhist", True, "bool", "Find the initial offset from a 2-D histogram of all "
       "image-reference position differences (else use xoffset, yoffset)", section="matching"),
    _P("see2dplot", True, "bool", "Show the 2-D histogram of offsets", section="matching"),
    _P("separation", 0.5, "float", "Sources closer than this to another source of the same "
       "catalog are left out of the matching", section="matching", vmin=0.0, units="pixels"),
    _P("tolerance", 1.0, "float", "Final matching radius after the fitted correction is applied",
       section="matching", vmin=0.0, min_exclusive=True, units="pixels"),
    _P("xoffset", 0.0, "float", "Prior x offset of the image relative to the reference "
       "(the 2-D histogram is centred on it)", section="matching", units="pixels"),
    _P("yoffset", 0.0, "float", "Prior y offset of the image relative to the reference "
       "(the 2-D histogram is centred on it)", section="matching", units="pixels"),

    # -- fitting ------------------------------------------------------------
    _P("fitgeometry", "rscale", "choice", "Linear correction fitted: shift; rshift (shift + "
       "rotation); rscale (shift + rotation + one scale); general (full affine)",
       section="fitting", choices=_GEOMETRIES),
    _P("residplot", "both", "choice", "Residual plots to show", section="fitting",
       choices=("No plot", "vector", "residuals", "both")),
    _P("ylimit", None, "float", "Limit of the residual-plot y axis (None: automatic)",
       section="fitting", vmin=0.0, min_exclusive=True, nullable=True, units="pixels"),
    _P("labelsize", 8, "int", "Font size of the residual-plot labels", section="fitting", vmin=1,
       units="points"),
    _P("nclip", 3, "int", "Number of sigma-clipping iterations of the fit", section="fitting",
       vmin=0),
    _P("sigma", 3.0, "float", "Clipping limit as a multiple of the fit's rms residual",
       section="fitting", vmin=0.0, min_exclusive=True),

    # -- drizzlekit engine safety checks (not in drizzlepac) -------------------
    _P("hist_min_significance", 5.0, "float", "Smallest significance (Gaussian-equivalent, "
       "after allowing for the number of bins searched) of the 2-D histogram peak that is "
       "trusted as the initial offset", section="engine", vmin=0.0),
    _P("use_triangles", True, "bool", "When the 2-D histogram has no significant peak, try "
       "matching asterisms (triangles of neighbouring sources) instead of giving up",
       section="engine"),

    # -- imagefindpars: source finding ----------------------------------------
    _P("finder", "dao", "choice", "Source finder: photutils DAOStarFinder ('dao') or "
       "IRAFStarFinder ('iraf') (drizzlekit addition)", section="imagefindpars",
       choices=("dao", "iraf")),
    _P("cr_minwidth", None, "float", "Detections narrower than this (rms of the light in the "
       "3x3 pixels round the peak) are cosmic rays; None = automatic (drizzlekit addition)",
       section="imagefindpars", vmin=0.0, units="pixels", nullable=True),
    _P("computesig", True, "bool", "Estimate the sky noise from the image as sqrt(2|mode|) "
       "(else use skysigma)", section="imagefindpars"),
    _P("skysigma", 0.0, "float", "Sky noise used when computesig is off", section="imagefindpars",
       vmin=0.0, units="image units"),
    _P("conv_width", 3.5, "float", "FWHM of the Gaussian detection kernel, about twice the PSF "
       "FWHM (3.5 for ACS/WFC and WFC3/UVIS, 2.5 for WFC3/IR)", section="imagefindpars",
       vmin=0.0, min_exclusive=True, units="pixels"),
    _P("threshold", 4.0, "float", "Detection threshold above the sky", section="imagefindpars",
       vmin=0.0, min_exclusive=True, units="sigma"),
    _P("nsigma", 1.5, "float", "Half-size of the detection kernel in units of its Gaussian sigma",
       section="imagefindpars", vmin=0.0, min_exclusive=True, units="sigma"),
    _P("ratio", 1.0, "float", "Minor-to-major axis ratio of the detection kernel",
       section="imagefindpars", vmin=0.0, vmax=1.0, min_exclusive=True),
    _P("theta", 0.0, "float", "Position angle of the kernel major axis, counter-clockwise from x",
       section="imagefindpars", vmin=0.0, vmax=180.0, units="deg"),
    _P("peakmin", None, "float", "Reject sources whose peak is below this value",
       section="imagefindpars", nullable=True, units="image units"),
    _P("peakmax", None, "float", "Reject sources whose peak is above this value "
       "(e.g. saturated stars)", section="imagefindpars", nullable=True, units="image units"),
    _P("fluxmin", None, "float", "Reject sources fainter than this flux",
       section="imagefindpars", nullable=True, units="image units"),
    _P("fluxmax", None, "float", "Reject sources brighter than this flux",
       section="imagefindpars", nullable=True, units="image units"),
    _P("dqbits", None, "bits", "DQ flags of pixels to ignore in source finding "
       "(None: use all pixels)", section="imagefindpars"),
    _P("use_sharp_round", False, "bool", "Apply the sharpness and roundness cuts below",
       section="imagefindpars"),
    _P("sharplo", 0.2, "float", "Lowest accepted sharpness", section="imagefindpars"),
    _P("sharphi", 1.0, "float", "Highest accepted sharpness", section="imagefindpars"),
    _P("roundlo", -1.0, "float", "Lowest accepted roundness", section="imagefindpars"),
    _P("roundhi", 1.0, "float", "Highest accepted roundness", section="imagefindpars"),
]

#: The registered ``tweakreg`` parameter specification.
TWEAKREG_SPEC = register_spec(ParamSpec(
    "tweakreg",
    _PARAMS,
    doc="Align images by matching their source catalogs to a reference catalog and fitting a "
        "linear correction (shift, rotation, scale) to each image's WCS.",
))
